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
 *  - Presented as VMware (--present-as vmware, qemu-args.ts), a kernel with
 *    CONFIG_HYPERVISOR_GUEST (vmware.c) and CONFIG_DMI finds VMware: "Hypervisor detected:
 *    VMware" in test/fixtures/console-6.12-pc-tcg-vmware-smp3-sockets4.log.
 * The tables are QEMU 7.2's; the report names the QEMU version (provenance).
 */
import type { CpuFirmware } from '../../model/release-rules.js';
import type { Accel } from './accel.js';
import type { CpuLayout } from './cpu-layout.js';
import type { Presentation } from './qemu-args.js';
import type { Machine } from './machine.js';

const FADT: Record<Exclude<Machine, 'virt'>, { major: number; minor: number }> = {
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
  // virt boots arm64 from a device tree (-machine dumpdtb shows one cpu node per -smp CPU), not ACPI.
  if (machine === 'virt') {
    const cpus = layout.kind === 'smp' ? layout.cpus : 1 + layout.deviceSockets.length;
    return { tables: 'devicetree', enabled: cpus, disabled: 0, onlineCapable: false, fadt: { major: 0, minor: 0 }, hypervisor: 'none', possibleCpusParam: null, nrCpus: kernel.nrCpus };
  }
  // Presented as VMware the CPUID hypervisor bit is gone: KVM's signature is then not looked for either (kvm.c __kvm_cpuid_base).
  const hypervisor =
    presentAs === 'vmware' ? (kernel.vmwareByDmi ? ('vmware' as const) : ('none' as const)) : accel === 'kvm' && kernel.kvmGuest ? ('kvm' as const) : ('none' as const);
  const common = { onlineCapable: false, fadt: FADT[machine], hypervisor, nrCpus: kernel.nrCpus };
  if (layout.kind === 'hotplug') {
    const enabled = 1 + layout.deviceSockets.length;
    return { ...common, enabled, disabled: layout.sockets - enabled, possibleCpusParam: null };
  }
  return { ...common, enabled: layout.cpus, disabled: 0, possibleCpusParam: layout.possibleCpus };
}

/** The firmware in a sentence, for a report: the machine's part of a prediction. */
export function describeFirmware(machine: Machine, fw: CpuFirmware): string {
  if (fw.tables === 'devicetree') return `QEMU ${machine}: a device tree with ${fw.enabled} cpu node(s), PSCI to take them offline; no CPU hot-add or unplug`;
  return `QEMU ${machine}: MADT with ${fw.enabled} enabled and ${fw.disabled} disabled (hot-pluggable) processor(s), FADT revision ${fw.fadt.major}.${fw.fadt.minor}, hypervisor seen by the kernel: ${fw.hypervisor}`;
}
