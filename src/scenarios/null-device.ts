import { free, hold, put, registeredDevice, unregister } from './device-ops.js';
import type { Scenario } from './scenario.js';

/**
 * NULL is a no-op: dev_hold(NULL), dev_put(NULL), netdev_hold(NULL, ...)
 * and netdev_put(NULL, ...) do nothing (include/linux/netdevice.h checks
 * `if (dev)`), and callers rely on it: dev_put() of what dev_get_by_name()
 * did not find. On every online CPU, beside a device that holds references
 * there: its counters must not move, and the console must stay quiet (a
 * kernel whose hold lost the check dereferences NULL, which this scenario's
 * console check reports as a crash).
 */
export const nullDevice: Scenario = {
  name: 'null-device',
  claim: 'dev_hold/dev_put/netdev_hold/netdev_put on NULL do nothing, on every CPU',
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rpnull0');
    for (const cpu of online) await hold(ctx, dev, cpu, 2);
    for (const cpu of online) {
      await ctx.probe.must(`null_ops ${cpu}`);
      await ctx.steps.check(`dev_hold, dev_put, netdev_hold, netdev_put of NULL on CPU ${cpu}: no counter moves`, dev, { cpu });
    }
    for (const cpu of online) await put(ctx, dev, cpu, 2);
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
