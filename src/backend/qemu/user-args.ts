/**
 * What a kernel engineer adds to the guest: kernel parameters (--append,
 * kunit.py's --kernel_args, vng's --append) and QEMU options (--qemu-arg),
 * each checked against what the harness owns, so an addition cannot quietly
 * take the console, the crash policy, the command channel or the machine
 * the model predicts for. Pure.
 */
import { HarnessError } from '../../errors.js';

/** Kernel parameters the harness sets and relies on. */
const OWNED_PARAMS: readonly [RegExp, string][] = [
  [/^console=/, 'the console is ttyS0: the harness reads every line from it'],
  [/^(panic|oops)=/, 'panic=-1 oops=panic end the run at a crash instead of at a timeout'],
  [/^refprobe\./, 'the guest agent\'s own parameters'],
  [/^(possible_cpus|nr_cpus|maxcpus)=/, 'the topology is --topology S:P: the model predicts from it'],
  [/^(rdinit|init)=/, 'the guest runs the harness\'s init'],
];

/** The words of --append (repeatable, each split on whitespace), refused where the harness owns them. */
export function kernelArgs(values: readonly string[]): string[] {
  const words = values.flatMap((v) => v.split(/\s+/)).filter(Boolean);
  for (const w of words) {
    const owned = OWNED_PARAMS.find(([re]) => re.test(w));
    if (owned) throw new HarnessError(`--append ${w}: the harness sets this itself (${owned[1]})`, 'leave it out; other parameters (loglevel=8, ignore_loglevel, initcall_debug, dyndbg=...) pass through');
  }
  return words;
}

/** QEMU options the harness builds from its own settings (qemu-args.ts). */
const OWNED_QEMU: Record<string, string> = {
  '-M': '--machine', '-machine': '--machine', '-accel': '--accel', '-enable-kvm': '--accel kvm', '-cpu': '--accel and --present-as',
  '-smp': '--topology', '-m': '--memory', '-kernel': '--kernel', '-initrd': 'the harness\'s initramfs', '-append': '--append',
  '-serial': 'the console and command channel', '-chardev': 'the console and command channel', '-qmp': 'CPU hotplug (QMP)',
  '-monitor': 'CPU hotplug (QMP)', '-display': 'none, always', '-nodefaults': 'always', '-no-reboot': 'a reboot ends the run',
  '-daemonize': 'the harness watches QEMU', '-S': 'the harness starts the guest', '-incoming': 'the harness boots the guest',
};

/** The words of --qemu-arg (repeatable, each split on whitespace), refused where the harness owns the option. */
export function qemuExtraArgs(values: readonly string[]): string[] {
  const words = values.flatMap((v) => v.split(/\s+/)).filter(Boolean);
  for (const w of words) {
    const name = w.startsWith('--') ? w.slice(1) : w;
    const owner = OWNED_QEMU[name.split('=')[0] ?? name];
    if (owner) throw new HarnessError(`--qemu-arg ${w}: the harness sets this itself (${owner})`, 'use the harness\'s option for it; other QEMU options (-d, -D, -trace, -device, -object, -icount) pass through');
  }
  return words;
}
