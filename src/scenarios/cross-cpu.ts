import { free, hold, put, registeredDevice, unregister } from './device-ops.js';
import { moreCpus, type Scenario } from './scenario.js';

/**
 * A reference taken on one CPU and dropped on another: +n on the first
 * counter, -n on the second, the sum unchanged. Dropping more than the second
 * CPU's counter holds drives it negative, which is normal: only the sum means
 * anything.
 */
export const holdPutCrossCpu: Scenario = {
  name: 'hold-put-cross-cpu',
  claim: 'hold on CPU a, put on CPU b: per-CPU +n/-n (negative is normal), sum unchanged',
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rpcross0');
    if (online.length < 2) {
      ctx.steps.skip(`needs two online CPUs (${moreCpus(ctx, 2)})`);
    } else {
      for (let i = 0; i < online.length; i++) {
        const a = online[i] as number;
        const b = online[(i + 1) % online.length] as number;
        // Enough to take b's counter below zero, whatever its baseline.
        const n = Math.max(0, dev.perCpu(b)) + 3;
        await hold(ctx, dev, a, n);
        await put(ctx, dev, b, n);
        await hold(ctx, dev, b, n);
        await put(ctx, dev, a, n);
      }
    }
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
