/**
 * What QEMU's firmware tables tell the guest kernel about its CPUs, for the
 * CPU layout the harness chose (cpu-layout.ts): the machine's half of the
 * possible-CPU rule, whose kernel half is model/release-rules.ts. Pure.
 *
 * Read from QEMU 7.2's boot logs (test/fixtures/console-6.1-*.log):
 *  - pc: "ACPI: FACP ... 000074 (v01 BOCHS BXPC", "ACPI: APIC ... (v01": a
 *    revision-1 FADT and MADT. A socket without a CPU is a MADT processor
 *    entry with Enabled=0 and no Online Capable flag (revision 1 has none).
 *  - microvm: "ACPI: FACP ... (v05", MADT v01; it has no CPU hotplug, so its
 *    MADT lists only the CPUs it boots.
 *  - Under TCG the CPUID hypervisor leaf says "TCGTCGTCGTCG", which no kernel
 *    driver knows: the kernel finds no hypervisor (no "Hypervisor detected"
 *    line in test/fixtures/console-6.12-pc-tcg-smp3-sockets4.log). Under KVM
 *    it finds KVM only if it was built with CONFIG_KVM_GUEST
 *    (arch/x86/kernel/cpu/hypervisor.c:39): Debian's kernels are, the
 *    harness's variants (no CONFIG_PARAVIRT) are not.
 * The tables are QEMU 7.2's; the report names the QEMU version (provenance).
 */
import type { CpuFirmware } from '../model/release-rules.js';
import type { Accel } from './accel.js';
import type { CpuLayout } from './cpu-layout.js';
import type { Machine } from './qemu-args.js';

const FADT: Record<Machine, { major: number; minor: number }> = {
  pc: { major: 1, minor: 0 },
  microvm: { major: 5, minor: 0 },
};

/** What the kernel's config decides of its side: its CPU limit, and whether it can recognise KVM. */
export interface KernelCpuConfig {
  nrCpus: number;
  kvmGuest: boolean;
}

export function qemuCpuFirmware(machine: Machine, layout: CpuLayout, accel: Accel, kernel: KernelCpuConfig): CpuFirmware {
  const hypervisor = accel === 'kvm' && kernel.kvmGuest ? ('kvm' as const) : ('none' as const);
  const common = { onlineCapable: false, fadt: FADT[machine], hypervisor, nrCpus: kernel.nrCpus };
  if (layout.kind === 'hotplug') {
    const enabled = 1 + layout.deviceSockets.length;
    return { ...common, enabled, disabled: layout.sockets - enabled, possibleCpusParam: null };
  }
  return { ...common, enabled: layout.cpus, disabled: 0, possibleCpusParam: layout.possibleCpus };
}

/** The firmware in a sentence, for a report: the machine's part of a prediction. */
export function describeFirmware(machine: Machine, fw: CpuFirmware): string {
  return `QEMU ${machine}: MADT with ${fw.enabled} enabled and ${fw.disabled} disabled (hot-pluggable) processor(s), FADT revision ${fw.fadt.major}.${fw.fadt.minor}, hypervisor seen by the kernel: ${fw.hypervisor}`;
}
