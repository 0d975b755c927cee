/**
 * Chooses the accelerator. /dev/kvm alone proves nothing: on a nested host
 * it can exist while every KVM guest spins at 100% and prints nothing (seen
 * on our CI machines). So KVM is used only when the CPU advertises vmx/svm
 * and a tiny guest actually runs under it: a boot sector that writes to the
 * isa-debug-exit port, which makes QEMU exit with status 99. The probe's
 * timeout is short on purpose: on the nested host the boot sector does finish
 * under KVM, but takes ~4 s against 0.1 s under TCG, and a kernel then hangs.
 */
import { existsSync, constants } from 'node:fs';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { scratchDir } from '../../cache/scratch.js';
import { dieWithParent } from './qemu.js';
import { hostArch, type Arch } from '../../kernel/arch.js';
import { HarnessError } from '../../errors.js';

export type Accel = 'kvm' | 'tcg';
export type AccelChoice = Accel | 'auto';

export interface AccelDecision {
  accel: Accel;
  reason: string;
}

/** mov al, 0x31; out 0xf4, al; hlt, as an MBR: QEMU exits with (0x31 << 1) | 1 = 99. */
export function probeBootSector(): Buffer {
  const mbr = Buffer.alloc(512);
  Buffer.from([0xb0, 0x31, 0xe6, 0xf4, 0xf4]).copy(mbr);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

export const PROBE_EXIT_CODE = 99;

export function cpuHasVirtualization(cpuinfo: string): boolean {
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}

async function kvmRunsAGuest(qemu: string, timeoutMs: number): Promise<boolean> {
  const dir = await scratchDir('refprobe-kvm');
  try {
    const img = path.join(dir, 'probe.img');
    await writeFile(img, probeBootSector());
    // A probe that hangs in KVM (it does on this kind of host) must not outlive a killed harness either.
    const [file, args] = dieWithParent(qemu, [
      '-accel', 'kvm', '-M', 'pc', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-nodefaults',
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${img},format=raw,if=ide`,
    ]);
    const r = await execa(file, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
    return r.exitCode === PROBE_EXIT_CODE;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function chooseAccel(choice: AccelChoice, qemu: string, probeTimeoutMs = 2000, guest: Arch = hostArch()): Promise<AccelDecision> {
  if (guest !== hostArch()) {
    if (choice === 'kvm') throw new HarnessError(`--accel kvm with a ${guest} kernel on this ${hostArch()} host`, `KVM runs guests of the host's architecture only: leave out --accel (TCG emulates ${guest})`);
    return { accel: 'tcg', reason: `${guest} guest on this ${hostArch()} host: TCG emulates it (KVM runs only the host's architecture)` };
  }
  if (choice === 'tcg') return { accel: 'tcg', reason: 'requested (--accel tcg)' };
  if (choice === 'kvm') return { accel: 'kvm', reason: 'requested (--accel kvm)' };
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', reason: 'no /dev/kvm' };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is not accessible to this user' };
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  if (!cpuHasVirtualization(cpuinfo)) return { accel: 'tcg', reason: '/dev/kvm exists but the CPU has no vmx/svm (nested KVM would hang)' };
  if (await kvmRunsAGuest(qemu, probeTimeoutMs)) return { accel: 'kvm', reason: 'a probe guest ran under KVM' };
  return { accel: 'tcg', reason: `a probe guest did not finish under KVM within ${probeTimeoutMs} ms` };
}
