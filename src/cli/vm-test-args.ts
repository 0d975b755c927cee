/**
 * The vm-test command line: parsed and checked up front, so a bad option is
 * a one-line error naming the option and what to pass instead. Pure.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { HarnessError } from '../errors.js';
import { KERNEL_NAMES, type KernelName } from '../kernel/variants.js';
import type { Scenario } from '../scenarios/scenario.js';
import type { RunSettings } from '../run/vm-test.js';

export interface VmTestArgs extends RunSettings {
  help: boolean;
  list: boolean;
  scenarios: Scenario[];
  fault: 'hold-twice' | null;
}

export const FAULTS = ['hold-twice'] as const;

export const HELP = `Usage: vm-test [options]      (make vm-test ARGS="...")

Boots the kernel under test in QEMU, loads the refprobe module, runs the
scenarios and checks every reading against the reference model.
TAP on stdout, progress on stderr; console log, JSON report and TAP are
kept in OUT/runs/<time>-<pid>/.

Kernel:
  --kernel NAME|IMAGE   stock (default: the newest /boot/vmlinuz-* with a
                        kbuild tree), a variant built from linux-source-6.1
                        (pcpu, refcount, tracker; built on first use, about 3
                        minutes, then cached; make kernels builds them all),
                        or the path of a bzImage
  --kdir DIR            the kbuild tree of --kernel IMAGE
                        (default: /lib/modules/<release>/build)
  --kernel-tree DIR     a built kernel tree, e.g. your patched kernel: boots
                        its vmlinux (or bzImage), builds the module against it

Guest:
  --accel auto|kvm|tcg  accelerator (default auto: KVM only if a probe guest
                        really runs under it, else TCG)
  --machine pc|microvm  QEMU machine (default pc; microvm boots no faster
                        under TCG here and hangs in about 1 boot in 5: it has
                        no HPET or PM timer when TSC calibration fails)
  --boot auto|pvh|bzimage
                        how QEMU loads the kernel (default auto: the
                        uncompressed vmlinux through its PVH entry when the
                        kernel has one, which halves a TCG boot; else bzImage)
  --smp N               online CPUs, 1-64 (default 2)
  --possible-cpus N     boot with possible_cpus=N (N >= --smp; default --smp
                        plus 2): CPUs possible but absent, whose counters
                        every sum includes
  --memory MB           guest memory, 128-16384 (default 256)

Scenarios:
  --scenario NAME       run only NAME (repeatable; default: all)
  --list                list the scenarios and exit
  --fault hold-twice    load the module with a deliberate kernel-side error
                        (every hold counts twice): the run must fail; this is
                        how the harness shows it catches a wrong kernel

  --seed N              seed of the stress streams, 0-4294967295 (default:
                        random; every run prints it, pass it to replay)

Limits (seconds):
  --boot-timeout S      until the guest agent answers (default 120)
  --command-timeout S   per command in the guest (default 60)
  --timeout S           the whole run (default 900)

Output:
  --out DIR             where runs are kept (default ./out)
  --verbose             echo the guest console to stderr
  --qemu PATH           qemu-system-x86_64 to use
  --busybox PATH        static busybox for the guest (default /bin/busybox)
  -h, --help            this text

Exit status: 0 every reading matched the model; 1 a reading differed;
3 the kernel crashed or the guest died or hung; 2 bad usage or set-up error;
130 interrupted.
`;

function intOption(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new HarnessError(`--${name} ${raw} is not a whole number from ${min} to ${max}`, `pass --${name} N with ${min} <= N <= ${max}`);
  }
  return n;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], def: T): T {
  if (raw === undefined) return def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new HarnessError(`--${name} ${raw} is not known`, `pass --${name} ${allowed.join('|')}`);
  }
  return raw as T;
}

export function parseVmTestArgs(argv: string[], all: readonly Scenario[]): VmTestArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        list: { type: 'boolean' },
        kernel: { type: 'string' },
        kdir: { type: 'string' },
        'kernel-tree': { type: 'string' },
        accel: { type: 'string' },
        machine: { type: 'string' },
        boot: { type: 'string' },
        smp: { type: 'string' },
        'possible-cpus': { type: 'string' },
        memory: { type: 'string' },
        scenario: { type: 'string', multiple: true },
        fault: { type: 'string' },
        out: { type: 'string' },
        qemu: { type: 'string' },
        busybox: { type: 'string' },
        'boot-timeout': { type: 'string' },
        'command-timeout': { type: 'string' },
        timeout: { type: 'string' },
        verbose: { type: 'boolean' },
        seed: { type: 'string' },
      },
    });
  } catch (e) {
    throw new HarnessError((e as Error).message, 'see vm-test --help');
  }
  const v = parsed.values;
  const scenarios = (v.scenario ?? []).map((name) => {
    const sc = all.find((s) => s.name === name);
    if (!sc) throw new HarnessError(`no scenario "${name}"`, `pass --scenario with one of: ${all.map((s) => s.name).join(', ')}`);
    return sc;
  });
  const smp = intOption('smp', v.smp, 2, 1, 64);
  // By default two CPUs are possible but absent: the sum must include them.
  const possibleCpus = intOption('possible-cpus', v['possible-cpus'], Math.min(64, smp + 2), 1, 64);
  if (possibleCpus < smp) {
    throw new HarnessError(`--possible-cpus ${possibleCpus} is below --smp ${smp}`, `pass --possible-cpus N with N >= ${smp}`);
  }
  if (v.kdir && (!v.kernel || KERNEL_NAMES.includes(v.kernel as KernelName))) {
    throw new HarnessError('--kdir without --kernel IMAGE', 'pass --kernel IMAGE with --kdir DIR (the image that tree built), or --kernel-tree DIR');
  }
  if (v['kernel-tree'] && v.kernel) throw new HarnessError('--kernel-tree with --kernel', 'pass one of them: --kernel-tree DIR boots that tree\'s own kernel');
  return {
    help: v.help ?? false,
    list: v.list ?? false,
    ...(v.kernel ? { kernel: v.kernel } : {}),
    ...(v.kdir ? { kdir: v.kdir } : {}),
    ...(v['kernel-tree'] ? { kernelTree: v['kernel-tree'] } : {}),
    accel: oneOf('accel', v.accel, ['auto', 'kvm', 'tcg'] as const, 'auto'),
    machine: oneOf('machine', v.machine, ['pc', 'microvm'] as const, 'pc'),
    boot: oneOf('boot', v.boot, ['auto', 'pvh', 'bzimage'] as const, 'auto'),
    smp,
    possibleCpus,
    memoryMb: intOption('memory', v.memory, 256, 128, 16384),
    scenarios: scenarios.length ? scenarios : [...all],
    fault: v.fault === undefined ? null : oneOf('fault', v.fault, FAULTS, 'hold-twice'),
    outDir: v.out ?? 'out',
    qemu: v.qemu ?? 'qemu-system-x86_64',
    busybox: v.busybox ?? '/bin/busybox',
    bootTimeoutSec: intOption('boot-timeout', v['boot-timeout'], 120, 5, 3600),
    commandTimeoutSec: intOption('command-timeout', v['command-timeout'], 60, 1, 3600),
    runTimeoutSec: intOption('timeout', v.timeout, 900, 10, 86400),
    verbose: v.verbose ?? false,
    seed: intOption('seed', v.seed, randomInt(2 ** 32), 0, 2 ** 32 - 1),
  };
}
