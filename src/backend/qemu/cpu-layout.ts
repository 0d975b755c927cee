/**
 * How the guest's CPUs are laid out on QEMU's command line. Pure.
 *
 * Two layouts give the same online and possible CPUs:
 *
 *   smp       `-smp N` and `possible_cpus=P` on the kernel command line: the
 *             extra possible CPUs exist only in the kernel's masks; nothing
 *             can be plugged or unplugged, only taken offline.
 *   hotplug   `-smp 1,sockets=P,cores=1,threads=1,maxcpus=P` plus one
 *             `-device <cpu type>,socket-id=K,...` per further online CPU:
 *             QEMU's ACPI tables list P processors, of which N are enabled,
 *             so the kernel's possible mask is P wide without possible_cpus=
 *             (counted from the disabled MADT entries), and the -device CPUs
 *             can be removed with QMP device_del (real unplug: the CPU leaves
 *             the present mask) and free sockets added with device_add.
 *
 * QEMU refuses to unplug the boot CPU ("Boot CPU is unpluggable"). Other
 * CPUs made by -smp N can be removed by QOM path (/machine/unattached/
 * device[K], numbered among every other unnamed device); -smp 1 plus -device
 * gives each removable CPU a name (cpuK) and a socket of its own instead.
 * One socket per CPU (cores=1, threads=1) makes a socket a CPU, and its APIC
 * id equal to its socket id.
 *
 * Measured here (QEMU 7.2 TCG, stock Debian 6.1, pc, host loaded by kernel
 * builds; medians of 4 interleaved boots to the agent, old -> new): 2:4 4.09
 * -> 4.16 s, 3:5 4.69 -> 4.73 s, 8:13 7.21 -> 7.49 s, 4:64 5.32 -> 5.87 s.
 * Every topology booted, with the same possible/present/online masks and the
 * same percpu units ("pcpu-alloc:" lines) as with possible_cpus=, and without
 * possible_cpus= ("smpboot: Allowing 64 CPUs, 60 hotplug CPUs"). 64 sockets
 * cost about half a second (bigger ACPI tables: DSDT 6.7 -> 11.9 KB, MADT
 * 144 -> 624 B): not enough to keep the old layout for any topology on pc.
 */
import type { Accel } from './accel.js';
import type { Machine } from './machine.js';

export type CpuLayout =
  | { kind: 'smp'; cpus: number; possibleCpus: number | null; reason: string }
  | { kind: 'hotplug'; sockets: number; deviceSockets: number[]; reason: string };

/** The QOM type of a hot-pluggable CPU: it must be the -cpu model's type. */
export function cpuDriver(accel: Accel): string {
  return accel === 'kvm' ? 'host-x86_64-cpu' : 'max-x86_64-cpu';
}

/** The -device id of the CPU in socket K: QMP device_del names it. */
export function cpuDeviceId(socket: number): string {
  return `cpu${socket}`;
}

/**
 * The hotplug layout wherever it works; smp where it cannot:
 *  - microvm has no ACPI CPU hotplug (no processor devices to eject);
 *  - without a possible count (the benchmark) nothing is there to plug, and
 *    the benchmark's boots stay exactly as they were measured.
 */
export function chooseCpuLayout(machine: Machine, cpus: number, possibleCpus: number | null): CpuLayout {
  // arm64 has no possible_cpus=: its possible CPUs are the device tree's, one node per CPU virt boots.
  if (machine === 'virt') return { kind: 'smp', cpus, possibleCpus: null, reason: `virt's device tree lists the ${cpus} CPUs it boots: nothing else can be made possible, nor plugged` };
  if (machine !== 'pc') return { kind: 'smp', cpus, possibleCpus, reason: `${machine} has no ACPI CPU hotplug` };
  if (possibleCpus === null) return { kind: 'smp', cpus, possibleCpus, reason: 'no possible CPU count asked for' };
  const sockets = Math.max(possibleCpus, cpus);
  const deviceSockets = Array.from({ length: cpus - 1 }, (_, i) => i + 1);
  const devices = deviceSockets.length ? `, sockets ${deviceSockets.join(',')} as -device (unpluggable)` : '';
  return { kind: 'hotplug', sockets, deviceSockets, reason: `${sockets} sockets, socket 0 the boot CPU${devices}` };
}

export function cpuLayoutArgs(layout: CpuLayout, accel: Accel): string[] {
  if (layout.kind === 'smp') return ['-smp', String(layout.cpus)];
  const driver = cpuDriver(accel);
  return [
    '-smp', `1,sockets=${layout.sockets},cores=1,threads=1,maxcpus=${layout.sockets}`,
    ...layout.deviceSockets.flatMap((k) => ['-device', `${driver},socket-id=${k},core-id=0,thread-id=0,id=${cpuDeviceId(k)}`]),
  ];
}

/** possible_cpus= for the kernel where the layout does not make the possible mask itself. */
export function possibleCpusCmdline(layout: CpuLayout): string[] {
  return layout.kind === 'smp' && layout.possibleCpus !== null ? [`possible_cpus=${layout.possibleCpus}`] : [];
}
