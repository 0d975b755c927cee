/**
 * The vm-test command line: parsed and checked up front, so a bad option is
 * a one-line error naming the option and what to pass instead. Pure.
 */
import { HarnessError } from '../errors.js';
import { intOption, oneOf, parseCommandLine } from './options.js';
import { KERNEL_NAMES, VARIANT_NAMES, type VariantName } from '../kernel/variants.js';
import { DEBIAN_KERNEL_EXAMPLES } from '../kernel/debian-archive.js';
import { isNamedKernel } from '../kernel/select.js';
import { existsSync } from 'node:fs';
import type { Scenario } from '../scenarios/scenario.js';
import type { Cell } from '../report/matrix-report.js';
import type { KernelSpec } from '../kernel/select.js';
import { parseShard, shardOf, type Shard } from '../run/shard.js';
import { remoteLabel, type RemoteSettings } from '../backend/ssh/guest.js';
import type { QemuSettings } from '../backend/qemu/guest.js';
import { GUEST_OPTIONS, GUEST_OPTION_NAMES, LIMIT_OPTIONS, parseGuestOptions, parseLimitOptions, parseSeed, SEED_OPTION, SHARD_OPTION } from './option-groups.js';
import { checkSshOption, parseSshUrl } from '../backend/ssh/ssh-args.js';
import os from 'node:os';
import path from 'node:path';

/** The run's context as the command line sets it (run/vm-test.ts RunContext, less what the entry point adds). */
export interface RunSettings {
  outDir: string;
  verbose: boolean;
  /** Seeds the stress streams (u32); the same seed replays the same streams. */
  seed: number;
  bootTimeoutSec: number;
  commandTimeoutSec: number;
  runTimeoutSec: number;
}

export interface VmTestArgs {
  help: boolean;
  list: boolean;
  scenarios: Scenario[];
  fault: 'hold-twice' | null;
  /** QEMU runs: kernels x topologies (this shard's share); one cell runs plainly, several as a matrix. Empty with --target. */
  cells: Cell[];
  /** How to build and boot the QEMU guests (unused with --target). */
  guest: QemuSettings;
  /** Where the runs go, the seed, the limits. */
  context: RunSettings;
  /** --shard K/N: the share of the matrix this run takes; `planned` is the whole matrix. */
  shard: Shard | null;
  plannedCells: Cell[];
  jobs: number;
  /** Where to write JUnit XML and KCIDB JSON of the run(s), if asked. */
  junit: string | null;
  kcidb: string | null;
  kcidbOrigin: string;
  artifactsUrl: string | null;
  /** A finished run to compare with as this one finishes (make compare A B, with B this run). */
  baseline: string | null;
  /** --patch FILE...: verify these patches on --base (the cells are built then, not given). */
  patches: string[];
  base: VariantName;
  /** --patch with --kernel-tree: the user's tree is the base (never changed; the patched kernel is a copy). */
  baseTree: string | null;
  /** --bisect: exit statuses for git bisect run (0 good, 1 bad, 125 skip, 255 stop). */
  bisect: boolean;
  topologies: { smp: number; possibleCpus: number }[];
  /** --target ssh://...: the machine to run on instead of a QEMU guest. */
  remote: RemoteSettings | null;
  /** The run's name for a machine over SSH (ssh-HOST[-PORT]). */
  remoteLabel: string | null;
}

/** What `make vm-test` covers without options: CPUs possible but absent, hotplug, three CPUs for the racing reader, 64 possible for the memory claim. */
export const DEFAULT_TOPOLOGIES: readonly { smp: number; possibleCpus: number }[] = [
  { smp: 2, possibleCpus: 4 },
  { smp: 4, possibleCpus: 64 },
];

export const FAULTS = ['hold-twice'] as const;

export { HELP } from './vm-test-help.js';


export function parseVmTestArgs(argv: string[], all: readonly Scenario[]): VmTestArgs {
  const parsed = parseCommandLine('vm-test', {
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      list: { type: 'boolean' },
      kernel: { type: 'string' },
      kdir: { type: 'string' },
      'kernel-tree': { type: 'string' },
      kernels: { type: 'string' },
      topology: { type: 'string' },
      jobs: { type: 'string' },
      ...GUEST_OPTIONS,
      ...LIMIT_OPTIONS,
      ...SEED_OPTION,
      ...SHARD_OPTION,
      smp: { type: 'string' },
      'possible-cpus': { type: 'string' },
      scenario: { type: 'string', multiple: true },
      fault: { type: 'string' },
      out: { type: 'string' },
      junit: { type: 'string' },
      'kcidb-origin': { type: 'string' },
      'artifacts-url': { type: 'string' },
      kcidb: { type: 'string' },
      baseline: { type: 'string' },
      timeout: { type: 'string' },
      verbose: { type: 'boolean' },
      patch: { type: 'string', multiple: true },
      base: { type: 'string' },
      bisect: { type: 'boolean' },
      target: { type: 'string' },
      identity: { type: 'string' },
      'ssh-option': { type: 'string', multiple: true },
      'connect-timeout': { type: 'string' },
      'allow-cpu-offline': { type: 'boolean' },
      'allow-tainted': { type: 'boolean' },
    },
  });
  const v = parsed.values;
  const scenarios = selectScenarios(v.scenario ?? [], all);
  const remote = parseRemote(v);
  const bisect = v.bisect ?? false;
  // A machine over SSH has the CPUs it has: no topology to choose, no kernel, no cells.
  const topologies = remote ? [] : bisect ? bisectTopology(v.topology, v.smp, v['possible-cpus']) : parseTopologies(v.topology, v.smp, v['possible-cpus']);
  const patches = v.patch ?? [];
  checkPatchMode(v, patches.length > 0);
  if (bisect) checkBisectMode(v);
  // A --patch run builds its cells itself (verify-patch.ts): its --kernel-tree is the base, not a cell.
  const kernels = remote ? [] : parseKernels(v.kernel, v.kernels, patches.length > 0 ? undefined : v['kernel-tree'], v.kdir);
  const planned = kernels.flatMap((k) => topologies.map((t) => ({ ...k, ...t })));
  const shard = parseShard(v.shard);
  if (shard && v.seed === undefined) throw new HarnessError('--shard without --seed', 'pass the same --seed N to every shard: the merged matrix has one seed, and make merge refuses shards that differ');
  const guest = parseGuestOptions(v);
  const cells = shardOf(planned, shard);
  return {
    help: v.help ?? false,
    list: v.list ?? false,
    cells,
    guest,
    context: {
      outDir: v.out ?? 'out',
      verbose: v.verbose ?? false,
      seed: parseSeed(v),
      ...parseLimitOptions(v),
      runTimeoutSec: intOption('timeout', v.timeout, 900, 10, 86400),
    },
    shard,
    plannedCells: planned,
    jobs: intOption('jobs', v.jobs, Math.max(1, os.availableParallelism()), 1, 64),
    scenarios: scenarios.length ? scenarios : [...all],
    fault: v.fault === undefined ? null : oneOf('fault', v.fault, FAULTS, 'hold-twice'),
    junit: v.junit ?? null,
    kcidb: v.kcidb ?? null,
    kcidbOrigin: kcidbOrigin(v['kcidb-origin']),
    artifactsUrl: artifactsUrl(v['artifacts-url']),
    baseline: v.baseline ?? null,
    patches,
    base: oneOf('base', v.base, VARIANT_NAMES, 'pcpu'),
    baseTree: patches.length > 0 ? (v['kernel-tree'] ?? null) : null,
    bisect,
    topologies,
    remote,
    remoteLabel: remote ? remoteLabel(remote) : null,
  };
}

/** --patch: its own kernels (the base and the patched base), one whole run; what cannot go with it. */
function checkPatchMode(v: Values, patching: boolean): void {
  if (v.base !== undefined && !patching) throw new HarnessError('--base without --patch', 'pass --patch FILE --base VARIANT, or --kernel VARIANT to run a variant as it is');
  if (!patching) return;
  const other = (['kernel', 'kernels', 'kdir', 'baseline', 'bisect'] as const).find((k) => v[k] !== undefined);
  if (other) {
    throw new HarnessError(
      `--patch with --${other}`,
      other === 'baseline'
        ? 'a --patch run is its own comparison (the base beside the patched kernel): drop --baseline'
        : other === 'bisect'
          ? 'bisect the tree the patch is in (git bisect run ... --kernel-tree DIR --bisect), or verify the patch on one base'
          : 'a --patch run builds its own kernels: choose the base with --base VARIANT (pcpu, refcount, tracker from linux-source-6.1; pcpu-6.12, ... from linux-source-6.12) or --kernel-tree DIR (your tree)',
    );
  }
  if (v.base !== undefined && v['kernel-tree'] !== undefined) throw new HarnessError('--base with --kernel-tree', 'the patch applies to one base: --base VARIANT (pcpu, pcpu-6.12, ...) or --kernel-tree DIR (your tree)');
  if (v.shard !== undefined) throw new HarnessError('--shard with --patch', 'a --patch run is one base beside its patched self: run it whole');
  if (v.fault !== undefined) throw new HarnessError('--patch with --fault', 'the fault breaks the base as much as the patched kernel, so nothing could be judged: drop --fault');
}

/** --bisect: one verdict on the tree git bisect checked out; what cannot go with it. */
function checkBisectMode(v: Values): void {
  const other = (['kernel', 'kernels', 'kdir', 'baseline', 'shard'] as const).find((k) => v[k] !== undefined);
  if (other || v['kernel-tree'] === undefined) {
    throw new HarnessError(other ? `--bisect with --${other}` : '--bisect without --kernel-tree', 'in the tree git bisect checks out: git bisect run node .../dist/harness/vm-test.js --kernel-tree "$PWD" --bisect');
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** What only a QEMU guest has: refused with --target. */
const QEMU_ONLY = ['kernel', 'kernels', 'kernel-tree', 'patch', 'base', 'bisect', 'topology', 'smp', 'possible-cpus', 'machine', 'present-as', 'accel', 'boot', 'memory', 'jobs', 'shard', 'qemu', 'busybox', 'append', 'qemu-arg'];
// Every guest option is QEMU's: a new one in GUEST_OPTIONS is refused with --target too.
for (const o of GUEST_OPTION_NAMES) if (!QEMU_ONLY.includes(o)) QEMU_ONLY.push(o);
const SSH_ONLY = ['identity', 'ssh-option', 'connect-timeout', 'allow-cpu-offline', 'allow-tainted'];

/** --target and the SSH options; null without --target. */
function parseRemote(v: Values): RemoteSettings | null {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  if (v.target === undefined) {
    const stray = SSH_ONLY.find((k) => v[k] !== undefined);
    if (stray) throw new HarnessError(`--${stray} without --target`, 'it is for a run on a machine over SSH: add --target ssh://[USER@]HOST[:PORT]');
    return null;
  }
  const other = QEMU_ONLY.find((k) => v[k] !== undefined);
  if (other) {
    throw new HarnessError(
      `--target with --${other}`,
      'a machine over SSH runs the kernel it booted, on the CPUs it has: leave out the QEMU options (kernel, topology, machine, patch, bisect, jobs, shard)',
    );
  }
  return {
    ssh: {
      dest: parseSshUrl(str('target') ?? ''),
      identity: str('identity') ?? null,
      options: ((v['ssh-option'] as string[] | undefined) ?? []).map(checkSshOption),
      connectTimeoutSec: intOption('connect-timeout', str('connect-timeout'), 10, 1, 600),
    },
    kdirHere: str('kdir') ?? null,
    allowCpuOffline: v['allow-cpu-offline'] === true,
    allowTainted: v['allow-tainted'] === true,
  };
}

/** A bisect step runs one topology: 2:4 unless told (CPUs possible but absent, hotplug). */
function bisectTopology(list: string | undefined, smpRaw: string | undefined, possibleRaw: string | undefined): { smp: number; possibleCpus: number }[] {
  if (list === undefined && smpRaw === undefined && possibleRaw === undefined) return [DEFAULT_TOPOLOGIES[0] as { smp: number; possibleCpus: number }];
  const t = parseTopologies(list, smpRaw, possibleRaw);
  if (t.length > 1) throw new HarnessError('--bisect with more than one topology', 'a bisect step gives one verdict: pass one --topology S:P (default 2:4)');
  return t;
}

/** KCIDB's origin: [a-z0-9_]+, as KernelCI assigns them. */
export function kcidbOrigin(raw: string | undefined): string {
  if (raw === undefined) return 'refprobe';
  if (!/^[a-z0-9_]+$/.test(raw)) throw new HarnessError(`--kcidb-origin ${raw} is not [a-z0-9_]+`, 'pass the origin KernelCI gave your CI system, e.g. --kcidb-origin my_lab');
  return raw;
}

/** The base URL the run directories are published under: https or http, so a database reader can fetch the logs. */
export function artifactsUrl(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (!/^https?:\/\/[^\s]+$/.test(raw)) throw new HarnessError(`--artifacts-url ${raw} is not an http(s) URL`, 'pass the URL your CI publishes --out under, e.g. --artifacts-url https://ci.example.org/job/42/artifacts/out');
  return raw;
}

/** A --scenario pattern as a whole-name match: `*` any run of characters, `?` one. Pure. */
function globOf(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** --scenario NAME or GLOB, repeatable: in the order given (a glob's matches in the suite's order), each once. */
export function selectScenarios<T extends { name: string }>(patterns: readonly string[], all: readonly T[]): T[] {
  if (patterns.length === 0) return [];
  const chosen = new Set<T>();
  for (const p of patterns) {
    const re = globOf(p);
    const hits = all.filter((s) => re.test(s.name));
    if (hits.length === 0) throw new HarnessError(`no scenario matches "${p}"`, `pass --scenario with a glob (unregister-*) or one of: ${all.map((s) => s.name).join(', ')}`);
    for (const h of hits) chosen.add(h);
  }
  return [...chosen];
}

function parseTopologies(list: string | undefined, smpRaw: string | undefined, possibleRaw: string | undefined): { smp: number; possibleCpus: number }[] {
  if (list !== undefined && (smpRaw !== undefined || possibleRaw !== undefined)) {
    throw new HarnessError('--topology with --smp or --possible-cpus', 'pass either --topology S:P,... or --smp N [--possible-cpus P]');
  }
  if (list === undefined && smpRaw === undefined) {
    if (possibleRaw !== undefined) throw new HarnessError('--possible-cpus without --smp', 'pass --smp N --possible-cpus P, or --topology N:P');
    return [...DEFAULT_TOPOLOGIES];
  }
  if (list === undefined) return [topology(smpRaw, possibleRaw)];
  const seen = new Set<string>();
  return list.split(',').map((pair) => {
    const m = /^(\d+)(?::(\d+))?$/.exec(pair.trim());
    if (!m) throw new HarnessError(`topology "${pair}" is not S or S:P`, 'pass --topology like 2:4,4:64 (online:possible CPUs)');
    const t = topologyOf(pair.trim(), m[1] ?? '', m[2]);
    const key = `${t.smp}:${t.possibleCpus}`;
    // Two runs of one topology would write one run directory: the second would overwrite the first.
    if (seen.has(key)) throw new HarnessError(`--topology names ${key} twice`, 'name each topology once (a run of it is repeatable with --seed)');
    seen.add(key);
    return t;
  });
}

/** One S:P of --topology, its errors in --topology's words (not --smp's). */
function topologyOf(pair: string, smpRaw: string, possibleRaw: string | undefined): { smp: number; possibleCpus: number } {
  const smp = Number(smpRaw);
  const possibleCpus = possibleRaw === undefined ? Math.min(64, smp + 2) : Number(possibleRaw);
  if (smp < 1 || smp > 64) throw new HarnessError(`--topology ${pair}: ${smp} online CPUs is not from 1 to 64`, 'pass --topology S:P with 1 <= S <= P <= 64');
  if (possibleCpus < 1 || possibleCpus > 64) throw new HarnessError(`--topology ${pair}: ${possibleCpus} possible CPUs is not from 1 to 64`, 'pass --topology S:P with 1 <= S <= P <= 64');
  if (possibleCpus < smp) throw new HarnessError(`--topology ${pair}: ${possibleCpus} possible CPUs is below ${smp} online`, 'pass --topology S:P with P >= S');
  return { smp, possibleCpus };
}

function topology(smpRaw: string | undefined, possibleRaw: string | undefined): { smp: number; possibleCpus: number } {
  const smp = intOption('smp', smpRaw, 2, 1, 64);
  // By default two CPUs are possible but absent: the sum must include them.
  const possibleCpus = intOption('possible-cpus', possibleRaw, Math.min(64, smp + 2), 1, 64);
  if (possibleCpus < smp) throw new HarnessError(`possible CPUs ${possibleCpus} below online CPUs ${smp}`, 'pass a topology S:P with P >= S');
  return { smp, possibleCpus };
}

/** A kernel the harness knows by name (not a path): stock, a variant, one of Debian's. A bad debian-* name is refused here. */
function isKernelName(k: string): boolean {
  if (isNamedKernel(k)) return true;
  if (k.startsWith('debian-') && !existsSync(k)) {
    throw new HarnessError(`--kernel ${k}: not a Debian kernel name`, `pass ${DEBIAN_KERNEL_EXAMPLES.join(', ')}, or one ABI (debian-6.12.107, debian-6.1.0-57; -rt for PREEMPT_RT)`);
  }
  return false;
}

function parseKernels(kernel: string | undefined, kernels: string | undefined, tree: string | undefined, kdir: string | undefined): { kernel: string; spec: KernelSpec }[] {
  const given = [kernel, kernels, tree].filter((x) => x !== undefined).length;
  if (given > 1) throw new HarnessError('more than one of --kernel, --kernels, --kernel-tree', 'pass one of them');
  if (kdir && (!kernel || isKernelName(kernel))) {
    throw new HarnessError('--kdir without --kernel IMAGE', 'pass --kernel IMAGE with --kdir DIR (the image that tree built), or --kernel-tree DIR');
  }
  if (tree) return [{ kernel: path.basename(path.resolve(tree)), spec: { kernelTree: tree } }];
  if (kernel) return [{ kernel: isKernelName(kernel) ? kernel : path.basename(kernel), spec: { kernel, ...(kdir ? { kdir } : {}) } }];
  const names = (kernels ?? 'stock').split(',').map((k) => k.trim()).filter(Boolean);
  if (names.length === 0) throw new HarnessError('--kernels is empty', `pass --kernels with names from ${[...KERNEL_NAMES, ...DEBIAN_KERNEL_EXAMPLES].join(', ')} or bzImage paths`);
  if (new Set(names).size !== names.length) throw new HarnessError(`--kernels ${kernels} names a kernel twice`, 'name each kernel once');
  return names.map((k) => ({ kernel: isKernelName(k) ? k : path.basename(k), spec: { kernel: k } }));
}
