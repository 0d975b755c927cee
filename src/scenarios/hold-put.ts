import { free, hold, put, registeredDevice, unregister } from './device-ops.js';
import type { Scenario } from './scenario.js';

const K = 3;

/** dev_hold/dev_put touch only the executing CPU's counter; the sum follows. */
export const holdPutEveryCpu: Scenario = {
  name: 'hold-put-every-cpu',
  claim: `hold and put ${K} times on each online CPU: only that CPU's counter moves, the sum follows`,
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rphold0');
    for (const cpu of online) {
      await hold(ctx, dev, cpu, K);
      await put(ctx, dev, cpu, K);
    }
    // All CPUs at once: references held on every CPU add up in the sum.
    for (const cpu of online) await hold(ctx, dev, cpu, K + cpu);
    for (const cpu of online) await put(ctx, dev, cpu, K + cpu);
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
