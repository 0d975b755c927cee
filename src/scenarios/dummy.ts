import type { Scenario } from './scenario.js';
import { newDevice } from './device-ops.js';
import { checkWarnings } from './console-warnings.js';

/**
 * init_dummy_netdev() devices (NAPI contexts of multi-queue drivers) are never
 * held, so in 6.1 they get no per-CPU counter: 4 bytes per possible CPU saved
 * per dummy. The module reports the NULL pointer without dereferencing it,
 * and refuses a hold there (it would write through the NULL per-CPU pointer).
 * On a refcount_t kernel the dummy's count is a zeroed refcount_t: a hold
 * on it is refcount_inc() on 0, which must warn "addition on 0;
 * use-after-free." and saturate, and a put after it leaves it saturated.
 */
export const dummyDevice: Scenario = {
  name: 'dummy-device',
  claim: 'init_dummy_netdev leaves no per-CPU counter (a hold is refused); on refcount_t a hold on its 0 warns and saturates',
  expectedConsole: ['refcount', 'warning'],
  async run(ctx) {
    const dev = newDevice(ctx, 'rpdummy0');
    await ctx.probe.must(`dummy ${dev.name}`);
    dev.initDummy();
    await ctx.steps.check(`init_dummy_netdev ${dev.name}: ${dev.counted ? 'a zeroed refcount_t' : 'no per-CPU counter'}`, dev);
    const cpu = ctx.info.topology.online[0] ?? 0;
    const mark = ctx.console.length;
    const r = await ctx.probe.ctl(`hold ${dev.name} ${cpu} 1`);
    if (!dev.counted) {
      ctx.steps.checkValue(`hold on dummy ${dev.name} is refused`, { refused: true, errno: 'Invalid argument' }, { refused: !r.ok, errno: r.errno }, r.error);
    } else {
      if (!r.ok) throw new Error(`hold on dummy ${dev.name}: refused by the module: ${r.error}`);
      dev.hold(cpu, 1);
      await ctx.steps.check(`hold on dummy ${dev.name}: refcount_inc() on 0 saturates`, dev, { cpu });
      await ctx.probe.must(`put ${dev.name} ${cpu} 1`);
      dev.put(cpu, 1);
      await ctx.steps.check(`put on dummy ${dev.name}: it stays saturated`, dev, { cpu });
    }
    await ctx.probe.must(`free ${dev.name}`);
    dev.free();
    await ctx.steps.check(`free ${dev.name}`, dev);
    await checkWarnings(ctx, dev, mark, `console after the hold on the dummy (${ctx.info.variant})`);
  },
};
