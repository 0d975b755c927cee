import type { Scenario } from './scenario.js';
import { newDevice } from './device-ops.js';

/**
 * init_dummy_netdev() devices (NAPI contexts of multi-queue drivers) are never
 * held, so in 6.1 they get no per-CPU counter: 4 bytes per possible CPU saved
 * per dummy. The module reports the NULL pointer without dereferencing it.
 */
export const dummyDevice: Scenario = {
  name: 'dummy-device',
  claim: 'init_dummy_netdev leaves no per-CPU counter; hold/put on it are refused',
  async run(ctx) {
    const dev = newDevice(ctx, 'rpdummy0');
    await ctx.probe.must(`dummy ${dev.name}`);
    dev.initDummy();
    await ctx.steps.check(`init_dummy_netdev ${dev.name}: no per-CPU counter`, dev);
    const cpu = ctx.info.topology.online[0] ?? 0;
    const r = await ctx.probe.ctl(`hold ${dev.name} ${cpu} 1`);
    ctx.steps.checkValue(
      `hold on dummy ${dev.name} is refused`,
      { refused: !dev.counted, errno: 'Invalid argument' },
      { refused: !r.ok, errno: r.errno },
      r.error,
    );
    await ctx.probe.must(`free ${dev.name}`);
    dev.free();
    await ctx.steps.check(`free ${dev.name}`, dev);
  },
};
