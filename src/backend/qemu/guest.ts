/**
 * The QEMU backend: builds what the guest needs (kernel, module, boot
 * image, initramfs: prepareGuest), boots it with the CPUs asked for and
 * waits for its agent (bootGuest). qemuBackend wraps both behind the
 * Backend seam; the benchmark calls them directly, with its own initramfs.
 */
import { readFile, rm } from 'node:fs/promises';
import { execa } from 'execa';
import path from 'node:path';
import { HarnessError } from '../../errors.js';
import { buildInitramfs, GUEST_MODULE_PATH, type Initramfs } from '../../initramfs/build.js';
import { buildAgent } from '../../initramfs/static-program.js';
import type { Kernel } from '../../kernel/discover.js';
import { selectKernel, type KernelSpec } from '../../kernel/select.js';
import { bootImage, type BootImage, type BootMode } from '../../kernel/vmlinux.js';
import { buildModule, type BuiltModule } from '../../module/build.js';
import { QemuTarget } from './qemu-target.js';
import type { MachineFacts } from '../target.js';
import type { Backend, BackendContext, GuestFacts, OpenContext, OpenedGuest } from '../backend.js';
import { chooseAccel, type AccelChoice, type AccelDecision } from './accel.js';
import type { GuestConfig } from './qemu-args.js';
import { machineFor, type Machine } from './machine.js';
import { ARCHES, type Arch } from '../../kernel/arch.js';
import { busyboxFor } from '../../initramfs/busybox.js';
import { chooseCpuLayout } from './cpu-layout.js';
import { readKernelChannel, type KernelChannel } from './command-channel.js';
import { parseKconfig } from '../../kernel/config.js';
import { kernelVersion, rulesFor, type RulesChoice } from '../../model/release-rules.js';
import { describeFirmware, qemuCpuFirmware, type KernelCpuConfig } from './firmware.js';
import { choosePresentation, type PresentChoice } from './presentation.js';
import { scratchDir } from '../../cache/scratch.js';

/** How to build and boot a QEMU guest: the same for every kernel and topology of a run. */
export interface QemuSettings {
  accel: AccelChoice;
  /**
   * TCG with one instruction per translation block (qemu-args.ts tcgArgs):
   * auto is on for an arm64 guest, where it is what lets an interrupt land
   * inside a load/add/store, and off for x86-64 (a per-CPU increment is one
   * instruction there).
   */
  singlestep: 'auto' | 'on' | 'off';
  machine: Machine;
  /** How the machine presents itself to the guest (qemu-args.ts, firmware.ts). */
  presentAs: PresentChoice;
  boot: BootMode;
  memoryMb: number;
  qemu: string;
  busybox: string;
  /** --append: kernel parameters after the harness's (checked in user-args.ts). */
  append: string[];
  /** --qemu-arg: QEMU options after the harness's (checked in user-args.ts). */
  qemuExtra: string[];
}

/**
 * The CPUs to give the guest: smp online, possibleCpus possible (>= smp),
 * or null for as many as online. Made by QEMU's ACPI tables (hot-pluggable
 * sockets) or possible_cpus=: cpu-layout.ts.
 */
export interface CpuRequest {
  smp: number;
  possibleCpus: number | null;
}

/** What the kernel's architecture decides: the emulator, the machine, and the userland packed for it. */
export interface Platform {
  arch: Arch;
  qemu: string;
  machine: Machine;
  /** TCG with one instruction per block: an interrupt may land between any two instructions. */
  singlestep: boolean;
}

/** --qemu and --machine are x86-64's (the default guest); an arm64 kernel runs on qemu-system-aarch64's virt. */
export function platformFor(arch: Arch, settings: Pick<QemuSettings, 'qemu' | 'machine' | 'singlestep'>): Platform {
  const singlestep = settings.singlestep === 'auto' ? arch === 'arm64' : settings.singlestep === 'on';
  return { arch, qemu: arch === 'x86_64' ? settings.qemu : ARCHES[arch].qemu, machine: machineFor(arch, settings.machine), singlestep };
}

/** The architecture's QEMU must be there before anything boots: say which package has it. */
async function needEmulator(p: Platform): Promise<void> {
  if (p.arch === 'x86_64') return; // --qemu's, checked when it starts (qemu.ts)
  const found = await execa('sh', ['-c', `command -v ${p.qemu}`], { reject: false });
  if (found.exitCode !== 0) throw new HarnessError(`an ${p.arch} kernel runs under ${p.qemu}, which is not installed`, `apt-get install ${ARCHES[p.arch].qemuPackage} (make kernels and make test install it)`);
}

/** Everything built for a guest; reusable for several boots (topologies). */
export interface PreparedGuest {
  kernel: Kernel;
  platform: Platform;
  module: BuiltModule;
  image: BootImage;
  initramfs: Initramfs;
  /** What carries the command channel, and the modules the initramfs has for it. */
  channel: KernelChannel;
  accel: AccelDecision;
  /** The kernel's release rules, chosen from its image's version before it boots. */
  rules: RulesChoice;
  /** From its kbuild tree's .config: the CPU limit and whether it recognises KVM (firmware.ts). */
  cpuConfig: KernelCpuConfig;
  /** Milliseconds spent building the module and the boot image, and packing. */
  buildMs: number;
  initramfsMs: number;
}

/** A booted guest whose agent answers; the module is not loaded yet. */
export interface BootedGuest {
  target: QemuTarget;
  /** The CPUs the harness gave the machine and what its firmware says of them. */
  machine: MachineFacts;
  bootMs: number;
  /** Stops QEMU and removes the guest's temporary files. */
  close: () => Promise<void>;
}

function since(t: number): number {
  return Math.round(performance.now() - t);
}

export async function prepareGuest(spec: KernelSpec, settings: QemuSettings, { repoRoot, progress, signal }: Pick<BackendContext, 'repoRoot' | 'progress' | 'signal'>): Promise<PreparedGuest> {
  let t = performance.now();
  progress('kernel: looking for the image and its kbuild tree');
  const kernel = await selectKernel(spec, repoRoot, progress, signal);
  const platform = platformFor(kernel.arch, settings);
  progress(`kernel: ${kernel.release} for ${kernel.arch} (${kernel.image}, kbuild ${kernel.kdir})`);
  const module = await buildModule(kernel, path.join(repoRoot, 'kmod'));
  progress(`module: ${module.cached ? 'cached' : 'built'} ${module.ko} (${since(t)} ms)`);
  const image = await bootImage(kernel.image, settings.boot, kernel.vmlinux, kernel.arch).catch((e: Error) => {
    throw new HarnessError(e.message, 'pass --boot bzimage, or a kernel built with CONFIG_PVH=y');
  });
  const buildMs = since(t);
  progress(`boot image: ${image.path} (${image.reason})`);

  t = performance.now();
  const channel = await readKernelChannel(kernel.release, kernel.kdir, platform.machine, kernel.modulesDir);
  progress(`command channel: ${channel.plan.kind === 'virtio' ? 'virtio-serial' : 'serial port ttyS1'} (${channel.plan.why})`);
  const agent = await buildAgent(repoRoot, kernel.arch);
  const busybox = await busyboxFor(kernel.arch, settings.busybox, progress);
  const initramfs = await buildInitramfs({ busybox, init: path.join(repoRoot, 'vm/guest/init'), agent, module: module.ko, channelModules: channel.modules });
  const initramfsMs = since(t);
  progress(`initramfs: ${initramfs.cached ? 'cached' : 'packed'} ${initramfs.path} (${(initramfs.bytes / 1024).toFixed(0)} KiB)`);

  await needEmulator(platform);
  const accel = await chooseAccel(settings.accel, platform.qemu, undefined, kernel.arch);
  progress(`accelerator: ${accel.accel} (${accel.reason})`);
  const rules = rulesFor(kernelVersion(kernel.release, kernel.banner));
  progress(`model: ${rules.why}`);
  return { kernel, platform, module, image, initramfs, channel, accel, rules, cpuConfig: await kernelCpuConfig(kernel.kdir), buildMs, initramfsMs };
}

/**
 * CONFIG_NR_CPUS, CONFIG_KVM_GUEST, CONFIG_HYPERVISOR_GUEST and CONFIG_DMI of
 * the kbuild tree's .config (firmware.ts says what each decides). Without
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
  progress: (line: string) => void;
  bootTimeoutSec: number;
  commandTimeoutSec: number;
  /** A unix socket for a second agent on ttyS1 (the benchmark's, bench/serial-agent.ts); QEMU connects it, the caller listens. */
  serialSocket?: string | null;
}

export async function bootGuest(prep: PreparedGuest, cpus: CpuRequest, settings: QemuSettings, opts: BootOptions): Promise<BootedGuest> {
  const t = performance.now();
  const tmp = await scratchDir('refprobe');
  const { machine: machineType, qemu, arch, singlestep } = prep.platform;
  const layout = chooseCpuLayout(machineType, cpus.smp, cpus.possibleCpus);
  const present = choosePresentation(settings.presentAs, machineType, layout, prep.accel.accel, prep.cpuConfig, prep.rules.rules);
  const guest: GuestConfig = {
    qemu,
    arch,
    singlestep: singlestep && prep.accel.accel === 'tcg',
    kernel: prep.image.path,
    initrd: prep.initramfs.path,
    accel: prep.accel.accel,
    machine: machineType,
    cpus: cpus.smp,
    possibleCpus: layout.kind === 'smp' ? layout.possibleCpus : cpus.possibleCpus,
    presentAs: present.presentAs,
    memoryMb: settings.memoryMb,
    channelSocket: path.join(tmp, 'channel.sock'),
    channel: prep.channel.plan.kind,
    serialSocket: opts.serialSocket && prep.channel.plan.kind === 'virtio' ? opts.serialSocket : null,
    // In the guest's own directory, removed with it: QMP is only ever the harness's.
    qmpSocket: path.join(tmp, 'qmp.sock'),
    cmdline: settings.append,
    extraArgs: settings.qemuExtra,
    agentIdleSec: Math.max(60, opts.commandTimeoutSec * 2),
  };
  const firmware = qemuCpuFirmware(machineType, layout, prep.accel.accel, prep.cpuConfig, present.presentAs);
  const machine: MachineFacts = {
    smp: cpus.smp,
    possibleCpus: guest.possibleCpus ?? null,
    firmware,
    firmwareText: describeFirmware(machineType, firmware),
    presentAs: present.presentAs,
    asVmware: qemuCpuFirmware(machineType, layout, prep.accel.accel, prep.cpuConfig, 'vmware'),
  };
  const described = layout.kind === 'hotplug'
    ? `${cpus.smp} CPUs, ${layout.sockets} possible (hot-pluggable sockets)`
    : `${cpus.smp} CPUs${layout.possibleCpus ? `, possible_cpus=${layout.possibleCpus}` : machineType === 'virt' && cpus.possibleCpus && cpus.possibleCpus > cpus.smp ? ` (not ${cpus.possibleCpus} possible: ${layout.reason})` : ''}`;
  opts.progress(`boot: ${machineType}${arch === 'x86_64' ? '' : ` (${arch})`}, ${described}, ${settings.memoryMb} MiB, presented ${present.why}; console -> ${opts.consoleLog}`);
  try {
    const target = await QemuTarget.boot({
      guest,
      consoleLog: opts.consoleLog,
      bootTimeoutMs: opts.bootTimeoutSec * 1000,
      defaultTimeoutMs: opts.commandTimeoutSec * 1000,
      onConsoleLine: opts.onConsoleLine,
    });
    const close = async (): Promise<void> => {
      await target.close();
      await rm(tmp, { recursive: true, force: true });
    };
    return { target, machine, bootMs: since(t), close };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** What the report says of a prepared guest. */
function preparedFacts(prep: PreparedGuest): GuestFacts {
  const { kernel } = prep;
  return {
    kernel,
    kernelTree: kernel.kdir,
    module: { vermagic: prep.module.vermagic, cached: prep.module.cached },
    rules: prep.rules,
    boot: prep.image,
    initramfs: prep.initramfs,
    accel: prep.accel,
    buildMs: prep.buildMs,
    initramfsMs: prep.initramfsMs,
    emulator: prep.platform.qemu,
  };
}

/** One kernel on one topology, as QEMU guests: the kernel and module are built (or found) before the run's clock starts. */
export function qemuBackend(kernel: KernelSpec, cpus: CpuRequest, settings: QemuSettings): Backend {
  let prep: PreparedGuest | null = null;
  return {
    kind: 'qemu',
    emulator: settings.qemu,
    async prepare(ctx: BackendContext): Promise<GuestFacts> {
      prep = await prepareGuest(kernel, settings, ctx);
      return preparedFacts(prep);
    },
    async open(ctx: OpenContext): Promise<OpenedGuest> {
      prep ??= await prepareGuest(kernel, settings, ctx);
      const g = await bootGuest(prep, cpus, settings, ctx);
      return { target: g.target, modulePath: GUEST_MODULE_PATH, moduleRefused: null, facts: preparedFacts(prep), machine: g.machine, bootMs: g.bootMs, close: g.close };
    },
  };
}
