/**
 * How a QEMU guest presents itself (qemu-args.ts Presentation), chosen
 * from what the model's release rule says each presentation makes possible.
 * It joins the machine (firmware.ts) and the
 * kernel's rule (model/release-rules.ts). Pure.
 */
import type { ReleaseRules } from '../../model/release-rules.js';
import { HarnessError } from '../../errors.js';
import type { Accel } from './accel.js';
import type { CpuLayout } from './cpu-layout.js';
import { qemuCpuFirmware, type KernelCpuConfig } from './firmware.js';
import type { Presentation } from './qemu-args.js';
import type { Machine } from './machine.js';

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
  if (machine === 'virt') {
    // QEMU's VMware identity (vmport, the DMI serial vmware.c looks for) is x86's.
    if (choice === 'vmware') throw new HarnessError('--present-as vmware with an arm64 kernel', 'the VMware presentation is an x86 one (vmport, vmware.c): leave it out for arm64 kernels, or run them in a separate vm-test');
    return { presentAs: 'qemu', why: 'as QEMU is (virt, arm64)' };
  }
  if (choice !== 'auto') return { presentAs: choice, why: `as asked (--present-as ${choice})` };
  const plain = rules.possibleCpus(qemuCpuFirmware(machine, layout, accel, kernel, 'qemu'));
  if (machine !== 'pc' || plain.hotAddable > 0) return { presentAs: 'qemu', why: 'as QEMU is' };
  const vmware = rules.possibleCpus(qemuCpuFirmware(machine, layout, accel, kernel, 'vmware'));
  if (vmware.hotAddable === 0) return { presentAs: 'qemu', why: 'as QEMU is (presented as VMware, this kernel would make no more CPUs possible)' };
  return {
    presentAs: 'vmware',
    why: `as VMware: ${rules.series} counts the empty sockets only on a hypervisor it recognises, and under ${accel.toUpperCase()} it recognises none (--present-as qemu keeps QEMU's own identity)`,
  };
}

