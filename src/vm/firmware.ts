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
 *  - Presented as VMware (--present-as vmware, qemu-args.ts), any kernel with
 *    CONFIG_HYPERVISOR_GUEST (vmware.c) finds VMware: "Hypervisor detected:
 *    VMware" in test/fixtures/console-6.12-pc-tcg-vmware-smp3-sockets4.log.
 * The tables are QEMU 7.2's; the report names the QEMU version (provenance).
 */
import type { CpuFirmware, ReleaseRules } from '../model/release-rules.js';
import type { Accel } from './accel.js';
import type { CpuLayout } from './cpu-layout.js';
import type { Machine, Presentation } from './qemu-args.js';

const FADT: Record<Machine, { major: number; minor: number }> = {
  pc: { major: 1, minor: 0 },
  microvm: { major: 5, minor: 0 },
};

/** What the kernel's config decides of its side: its CPU limit, and which hypervisors it can recognise. */
export interface KernelCpuConfig {
  nrCpus: number;
  /** CONFIG_KVM_GUEST: KVM's CPUID signature (hypervisor.c:39). */
  kvmGuest: boolean;
  /**
   * CONFIG_HYPERVISOR_GUEST (builds vmware.c) and CONFIG_DMI: without the
   * CPUID hypervisor bit vmware.c knows VMware by its DMI serial and backdoor
   * port (vmware.c:479, dmi_available && dmi_name_in_serial("VMware")).
   */
  vmwareByDmi: boolean;
}

export function qemuCpuFirmware(machine: Machine, layout: CpuLayout, accel: Accel, kernel: KernelCpuConfig, presentAs: Presentation = 'qemu'): CpuFirmware {
  const hypervisor =
    presentAs === 'vmware' && kernel.vmwareByDmi ? ('vmware' as const) : accel === 'kvm' && kernel.kvmGuest ? ('kvm' as const) : ('none' as const);
  const common = { onlineCapable: false, fadt: FADT[machine], hypervisor, nrCpus: kernel.nrCpus };
  if (layout.kind === 'hotplug') {
    const enabled = 1 + layout.deviceSockets.length;
    return { ...common, enabled, disabled: layout.sockets - enabled, possibleCpusParam: null };
  }
  return { ...common, enabled: layout.cpus, disabled: 0, possibleCpusParam: layout.possibleCpus };
}

export type PresentChoice = Presentation | 'auto';

/**
 * --present-as auto: VMware only where it changes what can be checked: the
 * kernel's rule makes none of the machine's empty sockets possible as QEMU
 * presents itself, and would as VMware (6.12 under TCG). Everywhere else the
 * machine stays QEMU as it is. Pure.
 */
export function choosePresentation(
  choice: PresentChoice,
  machine: Machine,
  layout: CpuLayout,
  accel: Accel,
  kernel: KernelCpuConfig,
  rules: ReleaseRules,
): { presentAs: Presentation; why: string } {
  if (choice !== 'auto') return { presentAs: choice, why: `--present-as ${choice}` };
  const plain = rules.possibleCpus(qemuCpuFirmware(machine, layout, accel, kernel, 'qemu'));
  if (machine !== 'pc' || plain.hotAddable > 0) return { presentAs: 'qemu', why: 'as QEMU is' };
  const vmware = rules.possibleCpus(qemuCpuFirmware(machine, layout, accel, kernel, 'vmware'));
  if (vmware.hotAddable === 0) return { presentAs: 'qemu', why: 'as QEMU is (presented as VMware, this kernel would make no more CPUs possible)' };
  return {
    presentAs: 'vmware',
    why: `as VMware: ${rules.series} counts the empty sockets only on a hypervisor it recognises, and under ${accel.toUpperCase()} it recognises none (--present-as qemu keeps QEMU's own identity)`,
  };
}

/** The firmware in a sentence, for a report: the machine's part of a prediction. */
export function describeFirmware(machine: Machine, fw: CpuFirmware): string {
  return `QEMU ${machine}: MADT with ${fw.enabled} enabled and ${fw.disabled} disabled (hot-pluggable) processor(s), FADT revision ${fw.fadt.major}.${fw.fadt.minor}, hypervisor seen by the kernel: ${fw.hypervisor}`;
}
