import { parseMeminfoPercpu } from '../probe/parse.js';
import type { Scenario, ScenarioContext } from './scenario.js';

/** Devices allocated at once: enough that page-sized steps of the allocator average out. */
const N = 8192;
const PAGE = 4096;

async function percpuBytes(ctx: ScenarioContext): Promise<number> {
  const r = await ctx.probe.target.run('cat /proc/meminfo');
  if (r.exitCode !== 0) throw new Error(`cannot read /proc/meminfo: ${r.stderr.trim()}`);
  return parseMeminfoPercpu(r.stdout);
}

/**
 * The price of per-CPU counters: alloc_percpu(int) reserves 4 bytes in every
 * per-CPU unit (one per possible CPU) for every device, 256 bytes at 64
 * possible CPUs, as the 2010 patch said; a refcount_t kernel pays nothing
 * there. Measured as the Percpu: delta of /proc/meminfo over N allocated
 * (never registered: registering allocates other per-CPU data) devices.
 * Percpu: moves in whole pages per unit, and the allocator keeps a few
 * spare pages populated, so the error bound is two pages per unit over N
 * (one unit per possible CPU here; the allocator may round units up, which
 * would show as a cost above the model's).
 */
export const memoryCost: Scenario = {
  name: 'memory-cost',
  claim: 'each device costs 4 bytes of per-CPU memory per possible CPU (none on a refcount_t kernel)',
  async run(ctx) {
    const possible = ctx.info.topology.possible.length;
    const before = await percpuBytes(ctx);
    await ctx.probe.must(`alloc_bulk ${N}`);
    const during = await percpuBytes(ctx);
    await ctx.probe.must('free_bulk');
    const perDevice = (during - before) / N;
    const predicted = ctx.info.variant === 'pcpu' ? 4 * possible : 0;
    const error = (2 * PAGE * possible) / N;
    ctx.steps.checkValue(
      `alloc ${N} devices: per-CPU bytes per device (${possible} possible CPUs)`,
      { bytesPerDevice: predicted, withinError: true },
      { bytesPerDevice: Math.abs(perDevice - predicted) <= error ? predicted : perDevice, withinError: Math.abs(perDevice - predicted) <= error },
      `Percpu: ${before} -> ${during} bytes (+${during - before}) for ${N} devices = ${perDevice.toFixed(1)} B each; ` +
        `model ${predicted} B (4 x ${possible} possible CPUs); error bound +-${error.toFixed(1)} B (2 pages x ${possible} units / ${N})`,
    );
  },
};
