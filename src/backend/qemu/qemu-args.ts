/**
 * The QEMU command line for one guest. Pure: configuration in, argv out.
 *
 * ttyS0 is the console (the kernel log, captured to a file). The command
 * channel to the guest agent is a virtio-serial port where the kernel has
 * the driver, else ttyS1 (command-channel.ts says which and why); either way
 * it is connected to a unix socket the harness listens on. The serial ports
 * are ISA ports, which microvm and pc both have.
 *
 * pc is the default. Under TCG microvm is no faster here (~7 s either way) and
 * hung in 3 of 14 boots: the kernel's PIT calibration of the TSC sometimes
 * fails under emulation ("tsc: Unable to calibrate against PIT"), and microvm
 * has no HPET or ACPI PM timer to fall back on, so time stands still. pc has
 * both and booted 10 of 10 even when calibration failed.
 */
import type { Accel } from './accel.js';
import { ARCHES, type Arch } from '../../kernel/arch.js';
import type { Machine } from './machine.js';
import type { ChannelKind } from './command-channel.js';
import { chooseCpuLayout, cpuLayoutArgs, possibleCpusCmdline, type CpuLayout } from './cpu-layout.js';


/**
 * How the machine presents itself to the guest. qemu: as QEMU does (under
 * TCG its CPUID hypervisor leaf says "TCGTCGTCGTCG", which no kernel driver
 * knows: the kernel believes it runs on bare metal). vmware: QEMU's VMware
 * backdoor port (vmport), a DMI serial starting "VMware-" and no CPUID
 * hypervisor bit, which is how arch/x86/kernel/cpu/vmware.c recognises
 * VMware without its CPUID leaf: the kernel then knows it is a guest, and
 * 6.12 counts the firmware's hot-pluggable sockets (firmware.ts). Measured
 * on Debian's 6.12 under TCG: "Hypervisor detected: VMware", "CPU topo:
 * Allowing 3 present CPUs plus 1 hotplug CPUs".
 */
export type Presentation = 'qemu' | 'vmware';

export interface GuestConfig {
  qemu: string;
  /** What the kernel runs on (default x86_64): arm64 boots on virt, its console a PL011. */
  arch?: Arch;
  /** TCG with one instruction per translation block (tcgArgs): an interrupt may land between any two instructions. */
  singlestep?: boolean;
  kernel: string;
  initrd: string;
  accel: Accel;
  machine: Machine;
  /** Online CPUs at boot. */
  cpus: number;
  /** Possible CPUs (>= cpus), or null for as many as online. How they are made: cpu-layout.ts. */
  possibleCpus?: number | null;
  /** How the machine presents itself to the guest (default qemu). */
  presentAs?: Presentation;
  memoryMb: number;
  /** Unix socket the harness listens on for the command channel. */
  channelSocket: string;
  /** What carries the command channel (command-channel.ts); default serial. */
  channel?: ChannelKind;
  /** With a virtio channel: a second agent on ttyS1 at this socket (the benchmark compares them). */
  serialSocket?: string | null;
  /** Unix socket QEMU serves QMP on (qmp.ts), or none. */
  qmpSocket?: string | null;
  /** Extra kernel command-line words (--append, checked in user-args.ts): after the harness's, so loglevel=8 overrides quiet. */
  cmdline: string[];
  /** Extra QEMU options (--qemu-arg, checked in user-args.ts), after the harness's. */
  extraArgs?: string[];
  /** Seconds without a command before the guest agent powers off. */
  agentIdleSec: number;
}

export function guestCpuLayout(cfg: GuestConfig): CpuLayout {
  return chooseCpuLayout(cfg.machine, cfg.cpus, cfg.possibleCpus ?? null);
}

export function kernelCmdline(cfg: GuestConfig): string {
  return [
    `console=${ARCHES[cfg.arch ?? 'x86_64'].console}`,
    // End the run on a crash instead of waiting for a timeout.
    'panic=-1',
    'oops=panic',
    'quiet',
    // Every console line stamped with guest time, whatever CONFIG_PRINTK_TIME says
    // (the variants leave it off): the interval between two usage-count warnings
    // is read from the stamps (crash/unregister-warnings.ts).
    'printk.time=1',
    `refprobe.idle=${cfg.agentIdleSec}`,
    ...(cfg.channel === 'virtio' ? ['refprobe.chan=virtio', ...(cfg.serialSocket ? ['refprobe.serial=1'] : [])] : []),
    ...possibleCpusCmdline(guestCpuLayout(cfg)),
    // Presented as VMware, one 6.12 boot of about 35 died in the late_initcall
    // sched_clock_init_late(), which flips the __sched_clock_stable static key
    // while the other vCPUs run sched_clock_cpu(): under multi-threaded TCG one of
    // them took the patching's int3 after it was gone ("Oops: int3" at
    // sched_clock_cpu+0x9). As QEMU is the same flip happens ("sched_clock:
    // Marking stable" at loglevel=8) and has not been seen to fail. tsc=unstable
    // ("Marking TSC unstable due to boot parameter") leaves nothing to flip; 16
    // boots at 3:5 after it, none died.
    ...(cfg.presentAs === 'vmware' ? ['tsc=unstable'] : []),
    ...cfg.cmdline,
  ].join(' ');
}

export function qemuArgs(cfg: GuestConfig): string[] {
  return [
    ...(cfg.arch === 'arm64' ? arm64MachineArgs(cfg) : x86MachineArgs(cfg)),
    ...cpuLayoutArgs(guestCpuLayout(cfg), cfg.accel),
    '-m', `${cfg.memoryMb}M`,
    '-no-reboot',
    '-nodefaults',
    '-display', 'none',
    '-monitor', 'none',
    '-kernel', cfg.kernel,
    '-initrd', cfg.initrd,
    '-append', kernelCmdline(cfg),
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    ...channelArgs(cfg),
    // QEMU serves, the harness connects when it wants to; wait=off lets QEMU start without it.
    ...(cfg.qmpSocket ? ['-qmp', `unix:${cfg.qmpSocket},server=on,wait=off`] : []),
    ...(cfg.extraArgs ?? []),
  ];
}

/** pc or microvm, KVM or TCG, presented as QEMU or as VMware. */
function x86MachineArgs(cfg: GuestConfig): string[] {
  const vmware = cfg.presentAs === 'vmware';
  const cpu = `${cfg.accel === 'kvm' ? 'host' : 'max'}${vmware ? ',-hypervisor' : ''}`;
  return [
    '-M', vmware ? `${cfg.machine},vmport=on` : cfg.machine,
    ...(cfg.accel === 'kvm' ? ['-accel', 'kvm'] : tcgArgs(cfg)),
    '-cpu', cpu,
    ...(vmware ? ['-smbios', 'type=1,serial=VMware-refprobe'] : []),
  ];
}

/**
 * TCG, multi-threaded (a host thread per vCPU). TCG takes an interrupt only
 * between translation blocks (a block runs up to the next branch), so an
 * interrupt never lands inside a load/add/store that sits in one block, as
 * arm64's raw_cpu_inc() does: a lost update cannot happen, and a kernel
 * with one passes. -singlestep (QEMU 7.2; one-insn-per-tb=on from 8.1)
 * makes every instruction its own block: an interrupt can then land between
 * any two, as on hardware, and the vCPUs still run in parallel. Measured on
 * pcpu-arm64 at 3 CPUs: the suite's scenarios 12.1 s without, 33.2 s with;
 * a raw_cpu_inc() kernel survives without and loses references with
 * (docs/arm64.md). -icount also cuts blocks where an interrupt is due, but
 * only on one host thread for every vCPU: cross-CPU waits crawled and
 * timed out there.
 */
export function tcgArgs(cfg: Pick<GuestConfig, 'singlestep'>): string[] {
  return ['-accel', 'tcg,thread=multi', ...(cfg.singlestep ? ['-singlestep'] : [])];
}

/**
 * arm64 on virt, under TCG whatever the host (no KVM across architectures):
 * -cpu max (every feature QEMU emulates, LSE atomics among them), a device
 * tree made by QEMU, PSCI for CPU offline and power-off, the console on its
 * one PL011. The command channel can only be virtio-serial (on PCI: virt's
 * ECAM host bridge, CONFIG_PCI_HOST_GENERIC): the PL011 is the console.
 */
function arm64MachineArgs(cfg: GuestConfig): string[] {
  if (cfg.channel !== 'virtio') throw new Error('an arm64 guest on virt has one serial port, the console: the command channel must be virtio-serial');
  return ['-M', cfg.machine, ...tcgArgs(cfg), '-cpu', 'max'];
}

// -serial would not create a second port on microvm; the device does on both.
const ttyS1 = (chardev: string): string[] => ['-device', `isa-serial,chardev=${chardev},index=1`];

function channelArgs(cfg: GuestConfig): string[] {
  const sock = ['-chardev', `socket,id=channel,path=${cfg.channelSocket}`];
  if (cfg.channel !== 'virtio') return [...sock, ...ttyS1('channel')];
  return [
    ...sock,
    '-device', 'virtio-serial-pci,id=vser0',
    '-device', 'virtserialport,bus=vser0.0,chardev=channel,name=refprobe',
    ...(cfg.serialSocket ? ['-chardev', `socket,id=serialch,path=${cfg.serialSocket}`, ...ttyS1('serialch')] : []),
  ];
}
