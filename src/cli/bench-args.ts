/**
 * The bench command line, parsed and checked up front. Pure.
 */
import { HarnessError } from '../errors.js';
import { intOption, oneOf, parseCommandLine } from './options.js';
import { VARIANT_NAMES } from '../kernel/variants.js';
import type { BenchRequest } from '../bench/run.js';
import { GUEST_OPTIONS, LIMIT_OPTIONS, parseGuestOptions, parseLimitOptions } from './option-groups.js';

export interface BenchArgs extends BenchRequest {
  help: boolean;
}

export const BENCH_HELP = `Usage: bench [options]      (make bench ARGS="...")

Measures what the per-CPU net_device refcount buys. For each kernel, boots
it in QEMU with refprobe and, for 1..N CPUs (N = --smp), runs dev_hold+dev_put
pairs (the kernel's real ones), a shared atomic_t, a shared refcount_t and a
per-CPU counter for --msec ms per point, --runs times (interleaved); then a
UDP limited-broadcast flood that takes a device reference per packet. It
times a scenario step (one hold, one devices read) on every command channel
the guest has (virtio-serial, ttyS1, a shell script per command), then
make vm-test against the floor (a bare boot and power-off of the same
kernel), its scenarios split into the claims' own waits and the rest.
Table on stdout, progress on stderr; JSON, SVG chart and table in
OUT/bench/<time>-<pid>/.

Kernel:
  --kernel NAME|IMAGE   kernel to measure, as vm-test takes it: stock (the
                        default), a variant (pcpu, refcount, tracker) or a
                        bzImage path. Repeatable: --kernel pcpu --kernel
                        refcount compares the real dev_hold of both, point
                        by point (the first is the reference)
  --kdir DIR            the kbuild tree of each --kernel IMAGE (repeatable,
                        one per --kernel, in order)
  --patch FILE          measure --base and --base with FILE applied (as
                        vm-test --patch builds it; repeatable, in order):
                        the patched dev_hold and flood against the base's,
                        point by point, real only when the ranges are apart
  --base VARIANT        what --patch applies to: pcpu (default), refcount,
                        tracker

Guest:
  --accel auto|kvm|tcg  accelerator (default auto)
  --machine pc|microvm  QEMU machine (default pc)
  --boot auto|pvh|bzimage  how QEMU loads the kernel (default auto)
  --smp N               guest CPUs, 1-64 (default 2); points for 1..N
  --memory MB           guest memory, 128-16384 (default 256)
  --present-as, --append, --qemu-arg
                        as vm-test takes them (see vm-test --help)

Measurement:
  --runs N              repeats per point, 5-100 (default 5)
  --msec MS             time per point, 50-5000 (default 250)
  --flood-packets N     packets per flood thread, 100-10000000 (default 20000)
  --flood-runs N        repeats per flood point, 1-50 (default 3)
  --skip-flood          no packet flood
  --floor-runs N        bare boots for the floor, 1-20 (default 3)
  --vm-test-runs N      make vm-test runs to compare, 1-10 (default 1)
  --skip-floor          no floor and no vm-test timing

Limits and output:
  --boot-timeout S      until the guest agent answers (default 120)
  --command-timeout S   per command in the guest (default 60)
  --out DIR             where results are kept (default ./out)
  --qemu PATH, --busybox PATH
  --version             the harness's version and commit
  -h, --help            this text

Exit status: 0 done; 1 a measurement failed (the guest hung or died, a
bench run was refused); 2 bad usage or set-up error; 130 interrupted
(143 by SIGTERM, 129 by SIGHUP).
`;


export function parseBenchArgs(argv: string[]): BenchArgs {
  const parsed = parseCommandLine('bench', {
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      kernel: { type: 'string', multiple: true },
      kdir: { type: 'string', multiple: true },
      ...GUEST_OPTIONS,
      ...LIMIT_OPTIONS,
      smp: { type: 'string' },
      runs: { type: 'string' },
      msec: { type: 'string' },
      'flood-packets': { type: 'string' },
      'flood-runs': { type: 'string' },
      'skip-flood': { type: 'boolean' },
      'floor-runs': { type: 'string' },
      'vm-test-runs': { type: 'string' },
      'skip-floor': { type: 'boolean' },
      out: { type: 'string' },
      patch: { type: 'string', multiple: true },
      base: { type: 'string' },
    },
  });
  const v = parsed.values;
  const kernelList = v.kernel ?? [];
  const kdirList = v.kdir ?? [];
  if (kdirList.length > 0 && kdirList.length !== kernelList.length) {
    throw new HarnessError(`${kdirList.length} --kdir for ${kernelList.length} --kernel`, 'pass one --kdir per --kernel, in the same order, or none');
  }
  const patches = v.patch ?? [];
  if (patches.length > 0 && kernelList.length > 0) throw new HarnessError('--patch with --kernel', 'a --patch run measures --base and the patched base: pass --base pcpu|refcount|tracker instead of --kernel');
  if (v.base !== undefined && patches.length === 0) throw new HarnessError('--base without --patch', 'pass --patch FILE --base VARIANT, or --kernel VARIANT');
  const kernels = kernelList.length ? kernelList.map((kernel, i) => ({ kernel, kdir: kdirList[i] ?? null })) : [{ kernel: null, kdir: null }];
  return {
    help: v.help ?? false,
    kernels,
    patches,
    base: oneOf('base', v.base, VARIANT_NAMES, 'pcpu'),
    guest: parseGuestOptions(v),
    ...parseLimitOptions(v),
    smp: intOption('smp', v.smp, 2, 1, 64),
    runs: intOption('runs', v.runs, 5, 5, 100),
    msec: intOption('msec', v.msec, 250, 50, 5000),
    floodPackets: intOption('flood-packets', v['flood-packets'], 20000, 100, 10_000_000),
    floodRuns: intOption('flood-runs', v['flood-runs'], 3, 1, 50),
    skipFlood: v['skip-flood'] ?? false,
    floorRuns: intOption('floor-runs', v['floor-runs'], 3, 1, 20),
    vmTestRuns: intOption('vm-test-runs', v['vm-test-runs'], 1, 1, 10),
    skipFloor: v['skip-floor'] ?? false,
    outDir: v.out ?? 'out',
  };
}
