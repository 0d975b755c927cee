import { parseCpuList } from '../model/cpumask.js';
import type { DeviceModel } from '../model/device.js';
import type { CpuHotplug } from '../backend/target.js';
import { free, hold, put, registeredDevice, unregister } from './device-ops.js';
import { holdRefused, presentAsHint, setCpuOnline, WAIT_HOTPLUG } from './hotplug.js';
import { unregisterWhileAway } from './unregister-offline.js';
import { moreCpus, type Scenario, type ScenarioContext } from './scenario.js';

const K = 3;

interface CpuMasks {
  possible: number[];
  present: number[];
  online: number[];
}

async function readMasks(ctx: ScenarioContext): Promise<CpuMasks> {
  const r = await ctx.probe.target.run('cd /sys/devices/system/cpu && cat possible present online');
  const [possible, present, online] = r.stdout.trim().split('\n');
  if (r.exitCode !== 0 || online === undefined) throw new Error(`cannot read the guest's CPU masks: ${r.stderr.trim() || r.stdout.trim()}`);
  return { possible: parseCpuList(possible ?? ''), present: parseCpuList(present ?? ''), online: parseCpuList(online) };
}

/** Where CPU `cpu` is among the guest's masks, as one record to compare. */
function membership(masks: CpuMasks, cpu: number): Record<string, boolean> {
  return { possible: masks.possible.includes(cpu), present: masks.present.includes(cpu), online: masks.online.includes(cpu) };
}

/**
 * Real unplug, not just offline: the vCPU is ejected, leaves the present
 * mask and its sysfs directory, and stays possible, so its per-CPU counter
 * is still there and netdev_refcnt_read() (a sum over possible CPUs) still
 * counts what it held. A sum over present CPUs would lose it here, and only
 * here. A CPU added while the guest runs was possible all along: its counter
 * is 0 and it takes references like any other.
 *
 * Where the kernel's rule makes a hot-pluggable socket possible (6.1; 6.12
 * on a machine presented as VMware, or under KVM), the CPU unplugged is one
 * this scenario plugged first: QEMU 7.2
 * crashed on every device_add after a device_del (backend/qemu/qemu-cpu-hotplug.ts),
 * so plug must come first. Where it makes none possible (6.12 under TCG as
 * QEMU is: model/release-rules.ts), nothing can be added, the hot-add half is a skip
 * that says why, and the CPU unplugged is one present since boot. Either way
 * the guest may end with fewer CPUs than it booted with: this scenario runs
 * last (scenarios/index.ts).
 */
export const cpuUnplug: Scenario = {
  name: 'cpu-unplug',
  claim: 'references held on a CPU that is really unplugged stay in the sum and keep unregister waiting until a put elsewhere balances them; a hot-added CPU takes references',
  async run(ctx) {
    const hotplug = ctx.probe.target.cpuHotplug;
    const dev = await registeredDevice(ctx, 'rpunpl0');
    if (!hotplug) {
      const why = ctx.probe.target.cpuHotplugAbsent ?? `${ctx.probe.target.description} cannot plug or unplug CPUs`;
      ctx.steps.skip(`needs real CPU hotplug: ${why} (QEMU on the x86-64 pc machine with a QMP monitor can)`);
      await unregister(ctx, dev);
      await free(ctx, dev);
      return;
    }
    const rule = ctx.machine ? ctx.rules.rules.possibleCpus(ctx.machine.firmware) : null;
    const { possible, online } = ctx.info.topology;
    const cannot =
      rule && rule.hotAddable === 0
        ? `the kernel makes no hot-pluggable socket possible (${rule.why})${presentAsHint(ctx)}`
        : // The rule promised room the kernel did not make: possible-cpus fails on it; a plug here would only time out.
          rule && possible.length <= online.length
          ? `the kernel made no CPU possible beyond the ${online.length} online, though its rule says ${rule.possible} (possible-cpus shows the difference)`
          : hotplug.cannotPlug();
    if (cannot === null) {
      await plugAndUnplug(ctx, dev, hotplug);
    } else {
      const n = hotplug.unpluggable().at(-1);
      if (n === undefined) {
        ctx.steps.skip(`needs real CPU hotplug: no CPU can be added (${cannot}) and none unplugged (${moreCpus(ctx, 2)})`);
        await unregister(ctx, dev);
      } else {
        ctx.steps.skip(`hot-add not checked: ${cannot}; CPU ${n}, present since boot, is unplugged instead`);
        await hold(ctx, dev, n, K);
        await unplugHolding(ctx, dev, hotplug, n, 'present since boot');
      }
    }
    await free(ctx, dev);
  },
};

async function plugAndUnplug(ctx: ScenarioContext, dev: DeviceModel, hotplug: CpuHotplug): Promise<void> {
  const n = await ctx.waits.time(WAIT_HOTPLUG, () => hotplug.plug());
  ctx.steps.checkValue(
    `plug a CPU: CPU ${n} is present, offline, and was possible all along`,
    { possible: true, present: true, online: false },
    membership(await readMasks(ctx), n),
  );
  await setCpuOnline(ctx, n, true);
  dev.cpuOnline(n);
  await ctx.steps.check(`CPU ${n} (hot-added) online: its counter 0, the sum unchanged`, dev, { cpu: n });
  await hold(ctx, dev, n, K);
  await put(ctx, dev, n, K);
  await hold(ctx, dev, n, K);
  if (!hotplug.unpluggable().includes(n)) throw new Error(`CPU ${n}, just plugged, is not unpluggable (unpluggable: ${hotplug.unpluggable().join(',') || 'none'})`);
  await unplugHolding(ctx, dev, hotplug, n, 'hot-added');
}

/** Unplugs CPU n, which holds references: they stay counted, and unregister waits for them. */
async function unplugHolding(ctx: ScenarioContext, dev: DeviceModel, hotplug: CpuHotplug, n: number, how: string): Promise<void> {
  const cpu0 = ctx.info.topology.online[0] ?? 0;
  const held = dev.references;
  await ctx.waits.time(WAIT_HOTPLUG, () => hotplug.unplug(n));
  dev.cpuOffline(n);
  await ctx.steps.check(`CPU ${n} (${how}) unplugged: the ${held} references it held still counted`, dev, { cpu: n });
  ctx.steps.checkValue(
    `CPU ${n} left the present mask and is still possible`,
    { possible: true, present: false, online: false },
    membership(await readMasks(ctx), n),
  );
  await holdRefused(ctx, dev, n, 'unplugged');
  // The references stay on the unplugged CPU: the unregister wait must see them.
  await unregisterWhileAway(ctx, dev, n, 'unplugged', cpu0);
}
