import { free, hold, lastOnlineCpu, put, registeredDevice, unregister } from './device-ops.js';
import type { DeviceModel } from '../model/device.js';
import { writeLine } from '../target/target.js';
import { moreCpus, type Scenario, type ScenarioContext } from './scenario.js';

const K = 3;

/** Why this scenario may not take a CPU offline here (a real machine without --allow-cpu-offline), or null. */
export function offlineRefused(ctx: ScenarioContext): string | null {
  return ctx.probe.target.cpuOfflineRefused ?? null;
}

/** What a CPU going offline or online costs: the kernel's hotplug state machine, slow under TCG. */
export const WAIT_HOTPLUG = 'the kernel taking a CPU offline or online (its hotplug states), or QEMU plugging one';

export async function setCpuOnline(ctx: ScenarioContext, cpu: number, online: boolean): Promise<void> {
  const r = await ctx.waits.time(WAIT_HOTPLUG, () => writeLine(ctx.probe.target, `/sys/devices/system/cpu/cpu${cpu}/online`, online ? '1' : '0', { timeoutMs: 60_000 }));
  if (r.exitCode !== 0) throw new Error(`CPU ${cpu} could not be brought ${online ? 'online' : 'offline'}: ${r.stderr.trim()}`);
}

/**
 * A reference taken on a CPU that then goes offline stays counted: the
 * per-CPU value is not folded anywhere, and the sum over possible CPUs still
 * sees it. A put on another CPU balances it. Summing only online CPUs would
 * be wrong exactly here.
 */
export const hotplug: Scenario = {
  name: 'cpu-hotplug',
  claim: 'hold on CPU n, offline n, put on CPU 0: counters as predicted, the offline CPU still counted',
  async run(ctx) {
    const online = ctx.info.topology.online;
    const n = lastOnlineCpu(ctx);
    const dev = await registeredDevice(ctx, 'rphot0');
    const refused = offlineRefused(ctx);
    if (refused) {
      ctx.steps.skip(refused);
    } else if (online.length < 2 || n === 0) {
      ctx.steps.skip(`needs a second online CPU to take offline (${moreCpus(ctx, 2)})`);
    } else {
      await hold(ctx, dev, n, K);
      await setCpuOnline(ctx, n, false);
      // Later scenarios (and the cleanup) expect the topology the guest booted with.
      try {
        await offlineSteps(ctx, dev, n);
      } finally {
        await setCpuOnline(ctx, n, true);
      }
      dev.cpuOnline(n);
      await ctx.steps.check(`CPU ${n} back online: counters unchanged`, dev, { cpu: n });
    }
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};

/** A hold on a CPU that is not online (offline, unplugged) is refused with ENXIO, as the model says. */
export async function holdRefused(ctx: ScenarioContext, dev: DeviceModel, n: number, how: string): Promise<void> {
  const refused = await ctx.probe.ctl(`hold ${dev.name} ${n} 1`);
  ctx.steps.checkValue(
    `hold on ${how} CPU ${n} is refused`,
    { refused: !dev.isOnline(n), errno: 'No such device or address' },
    { refused: !refused.ok, errno: refused.errno },
    refused.error,
  );
}

/** With CPU n offline: its count still summed, a hold there refused, a put elsewhere balancing it. */
async function offlineSteps(ctx: ScenarioContext, dev: DeviceModel, n: number): Promise<void> {
  dev.cpuOffline(n);
  await ctx.steps.check(`CPU ${n} offline: its ${K} references still counted`, dev, { cpu: n });
  await holdRefused(ctx, dev, n, 'offline');
  await put(ctx, dev, ctx.info.topology.online[0] ?? 0, K);
}

/** Possible CPUs that never came online are part of every sum, and read 0. */
export const possibleNotPresent: Scenario = {
  name: 'possible-cpus',
  claim: 'the kernel reserves the CPUs the machine can hot-add as possible; those absent are in the per-CPU set and the sum, and read 0',
  async run(ctx) {
    const { possible, online } = ctx.info.topology;
    // The machine's ACPI tables list P - S disabled (hot-pluggable) CPUs: a kernel must count them possible, or a CPU added later has no per-CPU counter.
    const want = ctx.machine?.possibleCpus;
    if (want) {
      ctx.steps.checkValue(
        `possible CPUs: the ${ctx.machine?.smp} booted and the hot-pluggable ones the machine describes`,
        { possible: want },
        { possible: possible.length },
        `possible ${possible.join(',')}, online ${online.join(',')}`,
      );
    }
    const absent = possible.filter((c) => !online.includes(c));
    const dev = await registeredDevice(ctx, 'rpposs0');
    if (absent.length === 0) {
      ctx.steps.skip(
        ctx.machine
          ? 'every possible CPU is online (run with --possible-cpus above --smp)'
          : 'every possible CPU is online on this machine: a running machine cannot be given absent ones (its firmware or a possible_cpus= boot parameter decides)',
      );
    } else {
      // Every check compares all possible CPUs' counters: the absent ones must be there, at 0.
      for (const cpu of online) await hold(ctx, dev, cpu, 2);
      for (const cpu of online) await put(ctx, dev, cpu, 2);
    }
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
