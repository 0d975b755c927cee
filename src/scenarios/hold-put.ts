import { alloc, free, hold, newDevice, put, register, unregister } from './device-ops.js';
import type { Scenario } from './scenario.js';

const K = 3;

/** dev_hold/dev_put touch only the executing CPU's counter; the sum follows. */
export const holdPutEveryCpu: Scenario = {
  name: 'hold-put-every-cpu',
  claim: `hold and put ${K} times on each online CPU: only that CPU's counter moves, the sum follows`,
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = newDevice(ctx, 'rphold0');
    await alloc(ctx, dev, online[0] ?? 0);
    await register(ctx, dev, online[0] ?? 0);
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
