import { alloc, newDevice } from './device-ops.js';
import { checkWarnings } from './console-warnings.js';
import type { Scenario } from './scenario.js';

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
    await checkWarnings(ctx, dev, mark, `console after the extra put and the free (${ctx.info.variant}${ctx.info.tracker ? ' + tracker' : ''})`);
  },
};
