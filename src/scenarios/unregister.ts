import { free, hold, put, registeredDevice } from './device-ops.js';
import { checkUnregisterTiming } from './unregister-wait.js';
import type { Scenario } from './scenario.js';

/** An unregister in the background, once every reference is balanced, completes and the device is gone. */
export const unregisterBalanced: Scenario = {
  name: 'unregister-balanced',
  claim: 'a balanced device unregisters in the background without waiting, and is gone after free',
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rpunreg0');
    for (const cpu of online) await hold(ctx, dev, cpu, 2);
    for (const cpu of [...online].reverse()) await put(ctx, dev, cpu, 2);
    await ctx.probe.must(`unregister_async ${dev.name}`);
    dev.unregisterStarted();
    const finished = await ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 30_000);
    dev.unregisterCompleted();
    await ctx.steps.check(`unregister_async ${dev.name} completes`, dev, {
      note: finished ? `completed in ${finished} ms` : 'did not complete within 30 s',
    });
    await checkUnregisterTiming(ctx, dev.name, 0);
    await free(ctx, dev);
  },
};
