/**
 * The QEMU machine types the harness boots. x86-64: pc (ACPI, hot-pluggable
 * sockets; the default) or microvm (no ACPI, possible_cpus=). arm64: virt
 * (a device tree, PSCI; no vCPU hot-add or unplug in QEMU 7.2).
 */
import type { Arch } from '../../kernel/arch.js';

export type Machine = 'microvm' | 'pc' | 'virt';

/** The machine a kernel of arch boots on: --machine's choice for x86-64, virt for arm64 (its only one here). */
export function machineFor(arch: Arch, x86Choice: Machine): Machine {
  return arch === 'arm64' ? 'virt' : x86Choice;
}
