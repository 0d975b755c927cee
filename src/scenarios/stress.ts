import { stressStream } from '../model/prng.js';
import { free, registeredDevice, unregister } from './device-ops.js';
import type { Scenario } from './scenario.js';

/** Operations per CPU: long enough (~0.2 s each under TCG) that the streams overlap for most of their run. */
export const STRESS_OPS = 1_000_000;
/**
 * The most one stream holds: far beyond 16 bits, so every CPU's counter and
 * the sum pass 65535 while the CPUs run at once (a stream climbs to its cap
 * in about 200,000 operations and rides it). At most max_count: what a
 * stream leaves goes back in one put.
 */
export const STRESS_CAP = 100_000;

/**
 * Every online CPU runs its own stream of holds and puts at the same time.
 * The streams come from a generator the model runs too (src/model/prng.ts,
 * kmod/stress.c), so each CPU's counter is known exactly however the CPUs
 * interleaved; the seed is in the notes (not the names: a step's name is the
 * same in every run), to replay a failure with --seed.
 */
export const stress: Scenario = {
  name: 'stress',
  claim: `every online CPU runs ${STRESS_OPS.toLocaleString('en')} PRNG-drawn holds and puts at once, up to ${STRESS_CAP.toLocaleString('en')} held each; every counter exactly as predicted`,
  async run(ctx) {
    const { seed } = ctx;
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rpstress0');
    await ctx.probe.must(`stress ${dev.name} ${seed} ${STRESS_OPS} ${STRESS_CAP}`);
    const predicted: Record<string, { holds: number; puts: number }> = {};
    for (const cpu of online) {
      const s = stressStream(seed, cpu, STRESS_OPS, STRESS_CAP);
      predicted[String(cpu)] = s;
      dev.hold(cpu, s.holds);
      dev.put(cpu, s.puts);
    }
    const res = await ctx.probe.stress();
    const observed = Object.fromEntries([...res.cpus].map(([cpu, r]) => [String(cpu), { holds: r.holds, puts: r.puts }]));
    ctx.steps.checkValue(`stress: each CPU's stream of holds and puts`, predicted, observed, `seed ${seed}; ${overlapNote(res.cpus)}`);
    await ctx.steps.check(`stress: per-CPU counters and their sum after ${online.length} concurrent streams`, dev, { note: `seed ${seed}` });
    // One step whatever the seed left over: step names are the same in every run.
    const putBack: string[] = [];
    for (const cpu of online) {
      const left = (predicted[String(cpu)]?.holds ?? 0) - (predicted[String(cpu)]?.puts ?? 0);
      if (left <= 0) continue;
      await ctx.probe.must(`put ${dev.name} ${cpu} ${left}`);
      dev.put(cpu, left);
      putBack.push(`${left} on CPU ${cpu}`);
    }
    await ctx.steps.check(`stress: every stream's references put back on its own CPU`, dev, { note: `put ${putBack.join(', ') || 'nothing'}` });
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};

/** How long the streams ran side by side: evidence they were concurrent. */
function overlapNote(cpus: ReadonlyMap<number, { startNs: bigint; endNs: bigint }>): string {
  const runs = [...cpus.values()];
  if (runs.length < 2) return 'one CPU: no concurrency to show';
  const start = runs.reduce((m, r) => (r.startNs > m ? r.startNs : m), 0n);
  const end = runs.reduce((m, r) => (r.endNs < m ? r.endNs : m), runs[0]?.endNs ?? 0n);
  const longest = runs.reduce((m, r) => (r.endNs - r.startNs > m ? r.endNs - r.startNs : m), 0n);
  const both = end > start ? end - start : 0n;
  return `all ${runs.length} streams ran at once for ${(Number(both) / 1e6).toFixed(1)} ms of the longest ${(Number(longest) / 1e6).toFixed(1)} ms`;
}
