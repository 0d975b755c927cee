import { meminfoBound, perDeviceBytes } from '../model/memory.js';
import { parseMeminfoPercpu, parsePcpuUnits } from '../probe/parse.js';
import type { Scenario, ScenarioContext } from './scenario.js';

/** Devices allocated at once: the most alloc_bulk takes, so a page per unit is 0.25 B per device. */
const N = 16384;
/** Alloc/free cycles after the first: a leak grows by the whole cost each time. */
const CYCLES = 2;

/** What the memory claim waits for: the kernel's work, and the allocator's background balance. */
const WAIT_BULK = 'the kernel allocating or freeing 2048-16384 devices at a time';
const WAIT_SETTLE = "Percpu settling: the per-CPU allocator's background balance, two equal readings 150 ms apart";

async function bulk(ctx: ScenarioContext, command: string): Promise<void> {
  await ctx.waits.time(WAIT_BULK, () => ctx.probe.must(command));
}

async function percpuBytes(ctx: ScenarioContext): Promise<number> {
  const { target } = ctx.probe;
  const r = await (target.read ? target.read('/proc/meminfo') : target.run('cat /proc/meminfo'));
  if (r.exitCode !== 0) throw new Error(`cannot read /proc/meminfo: ${r.stderr.trim()}`);
  return parseMeminfoPercpu(r.stdout);
}

/**
 * Percpu once the allocator's balance work (which populates and frees spare
 * pages in the background) is done: two equal readings 150 ms apart, at
 * most 3 s. Unsettled, the reading is still returned and the note says so.
 */
async function settledPercpu(ctx: ScenarioContext): Promise<{ bytes: number; settled: boolean }> {
  let last = await percpuBytes(ctx);
  for (const end = Date.now() + 3000; Date.now() < end; ) {
    await ctx.waits.time(WAIT_SETTLE, () => new Promise((r) => setTimeout(r, 150)));
    const now = await percpuBytes(ctx);
    if (now === last) return { bytes: now, settled: true };
    last = now;
  }
  return { bytes: last, settled: false };
}

async function unitCount(ctx: ScenarioContext): Promise<number> {
  const r = await ctx.probe.target.run('dmesg');
  if (r.exitCode !== 0) throw new Error(`cannot read the kernel log: ${r.stderr.trim()}`);
  return parsePcpuUnits(r.stdout);
}

const perDevice = (a: number, b: number, n = N): number => Math.round(((b - a) / n) * 100) / 100;

/** The probe: devices per step, kept until the end; at most PROBE_STEPS steps (a 256 MiB guest holds them and N more). */
const PROBE = 2048;
const PROBE_STEPS = 4;

/**
 * Whether Percpu can show what devices cost here. The per-CPU allocator
 * keeps freed pages populated (mm/percpu.c): a machine that allocated and
 * freed before (its boot, an earlier run) has room that new devices fill
 * without Percpu moving. PROBE devices at a time are allocated and kept
 * until Percpu grows: then the room is gone, and the N allocated next must
 * populate pages for all of themselves. If it never grows, on a machine
 * the harness did not boot the measurement cannot be trusted (a skip, with
 * why); in a guest it booted, the readings are judged as they come.
 */
async function probeRoom(ctx: ScenarioContext): Promise<{ from: { bytes: number; settled: boolean }; devices: number; room: string | null }> {
  const first = await settledPercpu(ctx);
  // A refcount_t kernel gives a device nothing per-CPU: there is no growth to wait for, and 0 is what is judged.
  if (ctx.info.variant !== 'pcpu') return { from: first, devices: 0, room: null };
  let from = first;
  for (let i = 1; i <= PROBE_STEPS; i++) {
    await bulk(ctx, `alloc_bulk ${PROBE}`);
    from = await settledPercpu(ctx);
    if (from.bytes > first.bytes || ctx.machine) return { from, devices: i * PROBE, room: null };
  }
  return {
    from,
    devices: PROBE_STEPS * PROBE,
    room: `Percpu did not move for ${PROBE_STEPS * PROBE} devices (${first.bytes} bytes): the per-CPU allocator has room populated by earlier allocations (mm/percpu.c keeps freed pages: an earlier run's), which hides what devices cost (a device that got no counter at all would look the same: the per-CPU readings of the other scenarios say it did); reboot the machine to measure it`,
  };
}

/**
 * The price of per-CPU counters, both ways: each device costs 4 bytes in
 * every per-CPU unit (the allocator's own unit count, read from its boot
 * report: at least one per possible CPU), a dummy device nothing, and the
 * memory comes back: alloc/free cycles reuse it instead of growing
 * (a counter free_netdev() forgot would grow by the whole cost each cycle).
 * The bound is src/model/memory.ts's: two pages per unit over N devices.
 */
export const memoryCost: Scenario = {
  name: 'memory-cost',
  claim: 'a device costs 4 bytes per per-CPU unit (none on a refcount_t kernel, none for a dummy), and freeing gives it back',
  async run(ctx) {
    const { variant } = ctx.info;
    const possible = ctx.info.topology.possible.length;
    const units = await unitCount(ctx);
    ctx.steps.checkValue(
      'per-CPU units: one or more per possible CPU',
      { unitsCoverPossible: true },
      { unitsCoverPossible: units >= possible },
      `${units} units for ${possible} possible CPUs (pcpu-alloc lines of the boot log)`,
    );
    const bound = meminfoBound(units, N);
    const model = (dummy: boolean) => ({ value: perDeviceBytes(variant, units, dummy), bound });
    const why = `model ${perDeviceBytes(variant, units)} B = ${variant === 'pcpu' ? `4 B x ${units} units` : 'a refcount_t in the net_device'}; bound +-${bound} B (2 pages x ${units} units / ${N})`;

    const { from: before, devices: probed, room } = await probeRoom(ctx);
    if (room) {
      await bulk(ctx, 'free_bulk');
      ctx.steps.skip(room);
      return;
    }
    await bulk(ctx, `alloc_bulk ${N}`);
    const during = await settledPercpu(ctx);
    await bulk(ctx, 'free_bulk');
    const freed = await settledPercpu(ctx);
    ctx.steps.checkWithin(
      `alloc ${N} devices: per-CPU bytes per device`,
      'bytesPerDevice',
      model(false),
      perDevice(before.bytes, during.bytes),
      `Percpu ${before.bytes} -> ${during.bytes} bytes${during.settled ? '' : ' (not settled)'}, ${probed} devices allocated before (until Percpu grew: the populated room used up); ${why}`,
    );

    for (let i = 0; i < CYCLES; i++) {
      await bulk(ctx, `alloc_bulk ${N}`);
      await bulk(ctx, 'free_bulk');
    }
    const cycled = await settledPercpu(ctx);
    ctx.steps.checkWithin(
      `${CYCLES} more alloc/free cycles of ${N} devices: per-CPU growth per device per cycle`,
      'bytesPerDevicePerCycle',
      { value: 0, bound: bound / CYCLES },
      perDevice(freed.bytes, cycled.bytes, N * CYCLES),
      `Percpu after the first free ${freed.bytes}, after ${CYCLES} more cycles ${cycled.bytes} bytes (${before.bytes} before any); a leaked counter would grow ${perDeviceBytes(variant, units)} B per device per cycle`,
    );

    const dBefore = await settledPercpu(ctx);
    await bulk(ctx, `dummy_bulk ${N}`);
    const dDuring = await settledPercpu(ctx);
    await bulk(ctx, 'free_bulk');
    ctx.steps.checkWithin(
      `init_dummy_netdev ${N} devices: per-CPU bytes per device`,
      'bytesPerDevice',
      model(true),
      perDevice(dBefore.bytes, dDuring.bytes),
      `Percpu ${dBefore.bytes} -> ${dDuring.bytes} bytes; a dummy gets no counter in 6.1`,
    );
  },
};
