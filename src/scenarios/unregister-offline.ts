import { free, hold, lastOnlineCpu, put, registeredDevice } from './device-ops.js';
import { offlineRefused, setCpuOnline } from './hotplug.js';
import { WAIT_RECHECK } from './unregister-wait.js';
import type { DeviceModel } from '../model/device.js';
import { moreCpus, type Scenario, type ScenarioContext } from './scenario.js';

const K = 2;
/** How long unregister must still be waiting with the references on the offline CPU: past the first rebroadcast (1 s). */
const STILL_PENDING_MS = 1500;
const WAIT_STILL_PENDING = `unregister must still be waiting ${STILL_PENDING_MS} ms on (past the first rebroadcast)`;

/**
 * unregister_async while CPU `away` (offline or unplugged) holds what the
 * module holds: still waiting after STILL_PENDING_MS with the count the
 * model predicts; a put of them all on CPU `cpu0` lets it complete.
 */
export async function unregisterWhileAway(ctx: ScenarioContext, dev: DeviceModel, away: number, how: string, cpu0: number): Promise<void> {
  const k = dev.references;
  await ctx.probe.must(`unregister_async ${dev.name}`);
  dev.unregisterStarted();
  const early = await ctx.waits.time(WAIT_STILL_PENDING, () => ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', STILL_PENDING_MS));
  await ctx.steps.check(`CPU ${away} ${how} with ${k} references: unregister still waiting after ${STILL_PENDING_MS} ms`, dev, {
    note: early === null ? `still pending after ${STILL_PENDING_MS} ms` : `finished after ${early} ms with the references still held`,
  });
  await put(ctx, dev, cpu0, k);
  const took = await ctx.waits.time(WAIT_RECHECK, () => ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 5000));
  dev.unregisterCompleted();
  await ctx.steps.check(`unregister of ${dev.name} completes after the put on CPU ${cpu0}`, dev, {
    note: took === null ? 'still pending after 5 s' : `completed ${took} ms after the put`,
  });
}

/**
 * Unregister while references sit on an offline CPU: netdev_wait_allrefs_any
 * waits on netdev_refcnt_read(), a sum over possible CPUs, so the offline
 * CPU's references keep it waiting (a wait that summed online CPUs would
 * see 1 and finish, and the kernel would free a device still referenced).
 * A put on another CPU releases it.
 */
export const unregisterOffline: Scenario = {
  name: 'unregister-offline-cpu',
  claim: 'unregister waits for references held on a CPU that went offline, and finishes once they are put from another CPU',
  async run(ctx) {
    const n = lastOnlineCpu(ctx);
    const cpu0 = ctx.info.topology.online[0] ?? 0;
    const dev = await registeredDevice(ctx, 'rpoffl0');
    const refused = offlineRefused(ctx);
    if (refused || n === cpu0) {
      ctx.steps.skip(refused ?? `needs a second online CPU to take offline (${moreCpus(ctx, 2)})`);
      await ctx.probe.must(`unregister ${dev.name}`);
      dev.unregisterStarted();
      dev.unregisterCompleted();
      await free(ctx, dev);
      return;
    }
    await hold(ctx, dev, n, K);
    await setCpuOnline(ctx, n, false);
    try {
      dev.cpuOffline(n);
      await unregisterWhileAway(ctx, dev, n, 'offline', cpu0);
    } finally {
      await setCpuOnline(ctx, n, true);
      dev.cpuOnline(n);
    }
    await free(ctx, dev);
  },
};
