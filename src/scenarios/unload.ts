import { hold, registeredDevice } from './device-ops.js';
import type { Scenario } from './scenario.js';

/**
 * Unloading the module while it holds references on a registered device:
 * it must put them back and unregister the device, so rmmod returns and no
 * "waiting for ... to become free" appears. Reloads the module afterwards.
 */
export const unloadReleases: Scenario = {
  name: 'unload-releases',
  claim: 'rmmod with references held puts them back and unregisters the device',
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rpunload0');
    for (const cpu of online) await hold(ctx, dev, cpu, 4);
    const unload = await ctx.probe.unload();
    const gone = await ctx.probe.target.run(`test -e /sys/class/net/${dev.name}`);
    ctx.steps.checkValue(
      `rmmod with ${dev.references} references held on ${dev.name}`,
      { rmmod: 'ok', interfaceExists: false },
      { rmmod: unload.ok ? 'ok' : unload.output, interfaceExists: gone.exitCode === 0 },
    );
    await ctx.probe.load(ctx.moduleParams);
  },
};
