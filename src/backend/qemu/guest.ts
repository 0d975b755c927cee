/**
 * A guest with refprobe loaded, ready for commands: the front half of the
 * flow (kernel -> module -> initramfs -> VM -> target), shared by vm-test
 * and the benchmark. `prepareGuest` builds what the VM needs (no VM yet);
 * `bootGuest` boots it, loads the module and reads the topology.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../../errors.js';
import { buildInitramfs, type Initramfs } from '../../initramfs/build.js';
import { buildAgent } from '../../initramfs/static-program.js';
import type { Kernel } from '../../kernel/discover.js';
import { selectKernel, type KernelSpec } from '../../kernel/select.js';
import { bootImage, type BootImage, type BootMode } from '../../kernel/vmlinux.js';
import { buildModule, type BuiltModule } from '../../module/build.js';
import { RefProbe } from '../../probe/client.js';
import type { ProbeInfo } from '../../probe/parse.js';
import { QemuTarget } from './qemu-target.js';
import type { AgentChannel } from '../agent/agent-channel.js';
import type { Target } from '../target.js';
import { chooseAccel, type AccelChoice, type AccelDecision } from './accel.js';
import type { GuestConfig, Machine } from './qemu-args.js';
import { chooseCpuLayout } from './cpu-layout.js';
import { readKernelChannel, type KernelChannel } from './command-channel.js';
import { parseKconfig } from '../../kernel/config.js';
import { kernelVersion, rulesFor, type RulesChoice } from '../../model/release-rules.js';
import { describeFirmware, qemuCpuFirmware, type KernelCpuConfig } from './firmware.js';
import { choosePresentation, type PresentChoice } from '../../run/presentation.js';
import type { MachineFacts } from '../../scenarios/scenario.js';
import { scratchDir } from '../../cache/scratch.js';

export interface KernelSettings extends KernelSpec {
  boot: BootMode;
}

export interface GuestSettings extends KernelSettings {
  accel: AccelChoice;
  machine: Machine;
  smp: number;
  /**
   * Possible CPUs (>= smp), or null for as many as online. Made by QEMU's
   * ACPI tables (hot-pluggable sockets) or possible_cpus=: vm/cpu-layout.ts.
   */
  possibleCpus: number | null;
  /** How the machine presents itself to the guest (qemu-args.ts, firmware.ts); default auto. */
  presentAs?: PresentChoice;
  memoryMb: number;
  qemu: string;
  busybox: string;
  bootTimeoutSec: number;
  commandTimeoutSec: number;
  /** --append: kernel parameters after the harness's (checked in vm/user-args.ts). */
  append?: string[];
  /** --qemu-arg: QEMU options after the harness's (checked in vm/user-args.ts). */
  qemuExtra?: string[];
}

/** Everything built for a guest; reusable for several boots (topologies). */
export interface PreparedGuest {
  kernel: Kernel;
  module: BuiltModule;
  image: BootImage;
  initramfs: Initramfs;
  /** What carries the command channel, and the modules the initramfs has for it. */
  channel: KernelChannel;
  accel: AccelDecision;
  /** The kernel's release rules, chosen from its image's version before it boots. */
  rules: RulesChoice;
  /** From its kbuild tree's .config: the CPU limit and whether it recognises KVM (vm/firmware.ts). */
  cpuConfig: KernelCpuConfig;
  /** Milliseconds spent building the module and the boot image, and packing. */
  buildMs: number;
  initramfsMs: number;
}

export interface Guest {
  /** The machine, through the Target interface only: nothing after boot needs to know it is QEMU. */
  target: Target;
  probe: RefProbe;
  info: ProbeInfo;
  bootMs: number;
  /** The CPUs the harness gave the machine and what its firmware says of them; absent for a machine it did not make. */
  machine?: MachineFacts;
  /** Stops QEMU and removes the guest's temporary files. */
  close: () => Promise<void>;
  /** With BootOptions.serialToo and a virtio channel: the second agent, on ttyS1. */
  serialChannel?: AgentChannel | null;
}

function since(t: number): number {
  return Math.round(performance.now() - t);
}

export async function prepareGuest(
  settings: GuestSettings,
  repoRoot: string,
  progress: (line: string) => void,
  signal?: AbortSignal,
): Promise<PreparedGuest> {
  let t = performance.now();
  progress('kernel: looking for the image and its kbuild tree');
  const kernel = await selectKernel(settings, repoRoot, progress, signal);
  progress(`kernel: ${kernel.release} (${kernel.image}, kbuild ${kernel.kdir})`);
  const module = await buildModule(kernel, path.join(repoRoot, 'kmod'));
  progress(`module: ${module.cached ? 'cached' : 'built'} ${module.ko} (${since(t)} ms)`);
  const image = await bootImage(kernel.image, settings.boot, kernel.vmlinux).catch((e: Error) => {
    throw new HarnessError(e.message, 'pass --boot bzimage, or a kernel built with CONFIG_PVH=y');
  });
  const buildMs = since(t);
  progress(`boot image: ${image.path} (${image.reason})`);

  t = performance.now();
  const channel = await readKernelChannel(kernel.release, kernel.kdir, settings.machine, kernel.modulesDir);
  progress(`command channel: ${channel.plan.kind === 'virtio' ? 'virtio-serial' : 'serial port ttyS1'} (${channel.plan.why})`);
  const agent = await buildAgent(repoRoot);
  const initramfs = await buildInitramfs({ busybox: settings.busybox, init: path.join(repoRoot, 'vm/guest/init'), agent, module: module.ko, channelModules: channel.modules });
  const initramfsMs = since(t);
  progress(`initramfs: ${initramfs.cached ? 'cached' : 'packed'} ${initramfs.path} (${(initramfs.bytes / 1024).toFixed(0)} KiB)`);

  const accel = await chooseAccel(settings.accel, settings.qemu);
  progress(`accelerator: ${accel.accel} (${accel.reason})`);
  const rules = rulesFor(kernelVersion(kernel.release, kernel.banner));
  progress(`model: ${rules.why}`);
  return { kernel, module, image, initramfs, channel, accel, rules, cpuConfig: await kernelCpuConfig(kernel.kdir), buildMs, initramfsMs };
}

/**
 * CONFIG_NR_CPUS, CONFIG_KVM_GUEST, CONFIG_HYPERVISOR_GUEST and CONFIG_DMI of
 * the kbuild tree's .config (vm/firmware.ts says what each decides). Without
 * one the limit is unknown (the topologies, at most 64 CPUs, stay below any
 * x86 default) and the hypervisors are taken as recognised, as on a
 * distribution kernel.
 */
async function kernelCpuConfig(kdir: string): Promise<KernelCpuConfig> {
  const text = await readFile(path.join(kdir, '.config'), 'utf8').catch(() => null);
  if (text === null) return { nrCpus: 8192, kvmGuest: true, vmwareByDmi: true };
  const config = parseKconfig(text);
  return { nrCpus: Number(config.get('CONFIG_NR_CPUS') ?? 8192), kvmGuest: config.get('CONFIG_KVM_GUEST') === 'y', vmwareByDmi: config.get('CONFIG_HYPERVISOR_GUEST') === 'y' && config.get('CONFIG_DMI') === 'y' };
}

export interface BootOptions {
  consoleLog: string;
  onConsoleLine: (line: string) => void;
  moduleParams: Record<string, string | number | boolean>;
  progress: (line: string) => void;
  /** With a virtio channel, a second agent on ttyS1 too (QemuTarget.serialChannel): the benchmark compares them. */
  serialToo?: boolean;
}

export async function bootGuest(prep: PreparedGuest, settings: GuestSettings, opts: BootOptions): Promise<Guest> {
  const t = performance.now();
  const tmp = await scratchDir('refprobe');
  const layout = chooseCpuLayout(settings.machine, settings.smp, settings.possibleCpus);
  const present = choosePresentation(settings.presentAs ?? 'auto', settings.machine, layout, prep.accel.accel, prep.cpuConfig, prep.rules.rules);
  const guest: GuestConfig = {
    qemu: settings.qemu,
    kernel: prep.image.path,
    initrd: prep.initramfs.path,
    accel: prep.accel.accel,
    machine: settings.machine,
    cpus: settings.smp,
    possibleCpus: settings.possibleCpus,
    presentAs: present.presentAs,
    memoryMb: settings.memoryMb,
    channelSocket: path.join(tmp, 'channel.sock'),
    channel: prep.channel.plan.kind,
    serialSocket: opts.serialToo && prep.channel.plan.kind === 'virtio' ? path.join(tmp, 'serial.sock') : null,
    // In the guest's own directory, removed with it: QMP is only ever the harness's.
    qmpSocket: path.join(tmp, 'qmp.sock'),
    cmdline: settings.append ?? [],
    extraArgs: settings.qemuExtra ?? [],
    agentIdleSec: Math.max(60, settings.commandTimeoutSec * 2),
  };
  const firmware = qemuCpuFirmware(settings.machine, layout, prep.accel.accel, prep.cpuConfig, present.presentAs);
  const machine: MachineFacts = {
    smp: settings.smp,
    possibleCpus: settings.possibleCpus,
    firmware,
    firmwareText: describeFirmware(settings.machine, firmware),
    presentAs: present.presentAs,
    asVmware: qemuCpuFirmware(settings.machine, layout, prep.accel.accel, prep.cpuConfig, 'vmware'),
  };
  const cpus = layout.kind === 'hotplug'
    ? `${settings.smp} CPUs, ${layout.sockets} possible (hot-pluggable sockets)`
    : `${settings.smp} CPUs${settings.possibleCpus ? `, possible_cpus=${settings.possibleCpus}` : ''}`;
  opts.progress(`boot: ${settings.machine}, ${cpus}, ${settings.memoryMb} MiB, presented ${present.why}; console -> ${opts.consoleLog}`);
  let target: QemuTarget;
  try {
    target = await QemuTarget.boot({
      guest,
      consoleLog: opts.consoleLog,
      bootTimeoutMs: settings.bootTimeoutSec * 1000,
      defaultTimeoutMs: settings.commandTimeoutSec * 1000,
      onConsoleLine: opts.onConsoleLine,
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const close = async (): Promise<void> => {
    await target.close();
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const probe = new RefProbe(target);
    await probe.load(opts.moduleParams);
    const info = await probe.info();
    return { target, probe, info, bootMs: since(t), machine, close, serialChannel: target.serialChannel };
  } catch (e) {
    await close();
    throw e;
  }
}
