import { classifyConsole } from '../crash/classify.js';
import { alloc, newDevice } from './device-ops.js';
import type { Scenario, ScenarioContext } from './scenario.js';

/** What the console said in lines [from, now): refcount_t complaints and WARNING sites, without line numbers. */
function warningsSince(ctx: ScenarioContext, from: number): string[] {
  return classifyConsole(ctx.console.slice(from).join('\n'))
    .filter((f) => f.kind === 'refcount' || f.kind === 'warning')
    .map((f) => f.title.replace(/:\d+$/, ''));
}

/** Lets the console catch up: a WARN is printed by the CPU that did the put, maybe after our reply. */
async function settle(ctx: ScenarioContext, from: number, want: number): Promise<void> {
  const end = Date.now() + 3000;
  while (warningsSince(ctx, from).length < want && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

/**
 * One dev_put() too many, on a device of its own that was never registered
 * (nothing else relies on its count). A per-CPU kernel drops the sum to 0
 * without a word: the bug shows only later, when unregister waits forever or
 * the device is freed early. A refcount_t kernel, or the reference tracker's
 * no_tracker count, warns "decrement hit 0" and saturates. The model predicts
 * the reading and the exact warnings per variant; the device is freed after.
 */
export const imbalance: Scenario = {
  name: 'imbalance',
  claim: 'an extra put: silent on per-CPU counters, a refcount_t WARN and saturation otherwise, as predicted per variant',
  expectedConsole: ['refcount', 'warning'],
  async run(ctx) {
    const cpu = ctx.info.topology.online[0] ?? 0;
    const dev = newDevice(ctx, 'rpimbal0');
    await alloc(ctx, dev, cpu);
    const mark = ctx.console.length;
    await ctx.probe.must(`put_unowned ${dev.name} ${cpu}`);
    dev.putUnowned(cpu);
    await ctx.steps.check(`put_unowned ${dev.name} on CPU ${cpu}: one put nobody held`, dev, { cpu });
    // Registered, it could never be unregistered: the wait for a count of 1 would never end.
    const reg = await ctx.probe.ctl(`register ${dev.name} ${cpu}`);
    ctx.steps.checkValue(`register ${dev.name} after the unowned put is refused`, { refused: true, errno: 'Device or resource busy' }, { refused: !reg.ok, errno: reg.errno }, reg.error);
    await ctx.probe.must(`free ${dev.name}`);
    dev.free();
    await ctx.steps.check(`free ${dev.name} (never registered: freed whatever it reads)`, dev);
    const want = dev.expectedWarnings();
    await settle(ctx, mark, want.length);
    ctx.steps.checkValue(
      `console after the extra put and the free (${ctx.info.variant}${ctx.info.tracker ? ' + tracker' : ''})`,
      { warnings: want },
      { warnings: warningsSince(ctx, mark) },
      'REFCOUNT_WARN is WARN_ONCE: these print once per boot',
    );
  },
};
