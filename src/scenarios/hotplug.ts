import { free, hold, lastOnlineCpu, put, registeredDevice, unregister } from './device-ops.js';
import type { DeviceModel } from '../model/device.js';
import { writeLine } from '../backend/target.js';
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

/** Where a kernel would count the empty sockets if it knew it ran in a VM: how to make it know. */
export function presentAsHint(ctx: ScenarioContext): string {
  const m = ctx.machine;
  if (!m || m.presentAs !== 'qemu') return '';
  const now = ctx.rules.rules.possibleCpus(m.firmware).hotAddable;
  return ctx.rules.rules.possibleCpus(m.asVmware).hotAddable > now ? '; --present-as vmware lets this kernel see a hypervisor and count them' : '';
}

/** How a run could have CPUs possible but absent, where one can. */
function absentHint(ctx: ScenarioContext): string {
  const m = ctx.machine;
  if (!m) return '';
  if (m.firmware.tables === 'devicetree') return " (QEMU 7.2's virt cannot describe a CPU it does not boot: on arm64 this half needs a machine whose firmware lists absent CPUs)";
  return m.possibleCpus !== null && m.possibleCpus > m.smp ? presentAsHint(ctx) : ' (run with --possible-cpus above --smp)';
}

/**
 * Possible CPUs that never came online are part of every sum, and read 0.
 * How many CPUs are possible is the kernel's rule applied to the machine's
 * firmware tables (model/release-rules.ts, backend/qemu/firmware.ts): 6.1 counts
 * QEMU's empty sockets, 6.12 only on a hypervisor it recognises (not under
 * TCG as QEMU is; yes when presented as VMware). The prediction is that
 * rule's, for the release booted; where it leaves no CPU absent, the sum's
 * part of the claim cannot be checked here and is a skip that says why.
 */
export const possibleNotPresent: Scenario = {
  name: 'possible-cpus',
  claim: 'the kernel makes possible the CPUs its release\'s rule gives for the machine\'s firmware; those absent are in the per-CPU set and the sum, and read 0',
  async run(ctx) {
    const { possible, online } = ctx.info.topology;
    const want = ctx.machine ? ctx.rules.rules.possibleCpus(ctx.machine.firmware) : null;
    if (ctx.machine && want) {
      ctx.steps.checkValue(
        `possible CPUs: the kernel's rule (${ctx.rules.rules.series}) for the ${ctx.machine.smp} booted and the machine's hot-pluggable sockets`,
        { possible: want.possible },
        { possible: possible.length },
        `${want.why}. Observed possible ${possible.join(',')}, online ${online.join(',')}. ${ctx.machine.firmwareText}${ctx.rules.exact ? '' : `. ${ctx.rules.why}`}`,
      );
    }
    const absent = possible.filter((c) => !online.includes(c));
    const dev = await registeredDevice(ctx, 'rpposs0');
    if (absent.length === 0) {
      ctx.steps.skip(
        !ctx.machine
          ? 'every possible CPU is online on this machine: a running machine cannot be given absent ones (its firmware or a possible_cpus= boot parameter decides)'
          : want && want.possible > ctx.machine.smp
            ? `the kernel made none of the ${want.possible - ctx.machine.smp} CPU(s) its rule predicts absent possible (the check above shows it)`
            : `no possible CPU is absent: ${want?.why ?? 'the machine has no more CPUs than it boots'}${absentHint(ctx)}`,
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
