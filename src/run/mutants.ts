/**
 * `make mutants`: proof that the suite catches a broken kernel. Per kernel
 * variant that has mutants (vm/mutants/<variant>/), the unpatched variant
 * must pass; then each mutant is built as `vm-test --patch` builds a patch
 * (its own patched tree, started from the variant's objects, cached by the
 * patch's text: the variant itself is never patched) and run through the
 * suite.
 * A mutant is killed when the run fails; the first scenario that failed,
 * and what differed there, is what killed it. A mutant that passes
 * survived: the suite has a hole, and the whole run fails.
 */
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildTree, type BuiltTree } from '../kernel/build-tree.js';
import { variantPatchedTree, variantTree } from '../kernel/build-variant.js';
import { mutantKey, parseMutant, touchesHeader, type Mutant } from '../kernel/mutant.js';
import { VARIANT_NAMES, variantOf, type VariantName } from '../kernel/variants.js';
import type { RunReport } from '../report/report.js';
import { firstDifferingReading } from '../report/results.js';
import { progressLine } from '../report/progress.js';
import { hashOf } from '../cache/cache.js';
import { shardOf, type Shard } from './shard.js';
import { runStamp } from './run-dir.js';
import { runVmTest, type VmTestOptions } from './vm-test.js';

export interface MutantOutcome {
  /** The mutant's name, or 'unpatched' for the variant itself. */
  name: string;
  kernel: VariantName;
  what: string;
  /**
   * 'passed' for the unpatched kernel; for a mutant, killed or survived;
   * 'not-applicable' for a mutant whose file says why it has no counterpart
   * in this release (never run, never a kill).
   */
  verdict: 'passed' | 'failed' | 'killed' | 'survived' | 'error' | 'not-applicable';
  /** Why the run could not judge the kernel (verdict error). */
  error?: string;
  /** The machine's presentation where it was not the run's default (a mutant's Present-as:, and its unpatched baseline). */
  presentAs?: 'qemu' | 'vmware';
  /** The first scenario that failed: the one that killed the mutant. */
  killedBy: string | null;
  /** Every scenario that failed, to show which checks each bug trips. */
  failing: string[];
  differed: string | null;
  buildSeconds: number;
  runSeconds: number;
  report: string | null;
}

/** What make mutants writes to its report.json (one run, or a shard of one). */
export interface MutantsReport {
  ok: boolean;
  shard: Shard | null;
  /** Every chosen mutant, variant/name (mutantKey), in run order (the whole set, when sharded). */
  planned: string[];
  /** The options that decide the verdicts: shards must agree to be merged. */
  fingerprint?: string;
  seed?: number;
  failFast?: boolean;
  outcomes: MutantOutcome[];
}

/**
 * The verdict over outcomes: every unpatched kernel passed, every planned
 * mutant was judged and killed (or says why it does not apply). Pure.
 */
export function mutantsOk(outcomes: readonly MutantOutcome[], planned: readonly string[]): boolean {
  const bases = outcomes.filter((o) => o.name === 'unpatched');
  const judged = outcomes.filter((o) => o.name !== 'unpatched');
  return (
    bases.every((o) => o.verdict === 'passed') &&
    judged.every((o) => o.verdict === 'killed' || o.verdict === 'not-applicable') &&
    planned.every((k) => judged.some((o) => mutantKey(o) === k))
  );
}

export interface MutantsOptions extends Omit<VmTestOptions, 'kernel' | 'kernelTree' | 'builtTree' | 'kdir' | 'tap' | 'runDir' | 'outDir' | 'failFast'> {
  outDir: string;
  only: string[];
  /** --shard K/N: every Nth of the chosen mutants from the Kth. */
  shard?: Shard | null;
  /** A mutant's run stops at its first failing scenario (the unpatched runs never do). */
  failFast: boolean;
}

/**
 * The mutants, grouped by variant in VARIANT_NAMES order; within a variant
 * those touching only .c files first: a patched header rebuilds everything
 * that includes it, so the quick verdicts come first.
 */
export async function loadMutants(repoRoot: string): Promise<Mutant[]> {
  const root = path.join(repoRoot, 'vm/mutants');
  const stray = (await readdir(root)).filter((n) => n.endsWith('.patch'));
  if (stray.length) throw new Error(`vm/mutants/${stray[0]}: a mutant belongs in vm/mutants/<variant>/ (${VARIANT_NAMES.join(', ')})`);
  const all: Mutant[] = [];
  for (const variant of VARIANT_NAMES) {
    const dir = path.join(root, variant);
    if (!existsSync(dir)) continue;
    const names = (await readdir(dir)).filter((n) => n.endsWith('.patch')).sort();
    const ms = await Promise.all(names.map(async (n) => parseMutant(n.replace(/\.patch$/, ''), variant, await readFile(path.join(dir, n), 'utf8'))));
    all.push(...ms.sort((a, b) => Number(touchesHeader(a)) - Number(touchesHeader(b)) || a.name.localeCompare(b.name)));
  }
  for (const m of all) {
    if (m.name === 'unpatched') throw new Error(`vm/mutants/${m.variant}/unpatched.patch: "unpatched" names the variant itself, not a mutant`);
  }
  return all;
}

/**
 * What a run on a mutant kernel proves. Killed only by evidence about the
 * kernel: a reading that differed, a kernel complaint, or a guest that died
 * or hung. A run that stopped for any other reason (set-up, a refused
 * command, a harness bug) proves nothing: an error of the run, never a kill.
 */
export function mutantVerdict(r: RunReport): 'killed' | 'survived' | 'error' {
  const evidence =
    r.scenarios.some((s) => s.status === 'fail' || s.status === 'crash') || r.crashes.length > 0 || r.errorKind === 'guest';
  if (evidence) return 'killed';
  if (r.error !== null || r.scenarios.some((s) => s.status === 'error')) return 'error';
  return 'survived';
}

/**
 * Where a failed run first parted from the model: scenario, and the step or
 * console finding. Evidence first: a scenario that only errored (a device
 * that never came, a refused command) is named only when none failed.
 */
export function firstDifference(r: RunReport): { scenario: string; differed: string } | null {
  const describe = (s: RunReport['scenarios'][number]): { scenario: string; differed: string } => {
    const crash = s.crashes[0];
    return { scenario: s.name, differed: firstDifferingReading(s) ?? (crash ? `kernel: ${crash.title}` : (s.error ?? s.status)) };
  };
  const failed = r.scenarios.find((s) => s.status === 'fail' || s.status === 'crash');
  if (failed) return describe(failed);
  if (r.crashes[0]) return { scenario: '(between scenarios)', differed: `kernel: ${r.crashes[0].title}` };
  const errored = r.scenarios.find((s) => s.status === 'error');
  if (errored) return describe(errored);
  if (r.error) return { scenario: '(run)', differed: r.error.split('\n')[0] ?? r.error };
  return null;
}

/** Why a run that proved nothing stopped: its own error, or its scenarios'. */
function runError(r: RunReport): string {
  if (r.error) return r.error.split('\n')[0] ?? r.error;
  const s = r.scenarios.find((x) => x.status === 'error');
  return s ? `${s.name}: ${s.error ?? 'error'}` : 'unknown';
}

function errored(m: Mutant, e: unknown): MutantOutcome {
  const msg = e instanceof Error ? e.message : String(e);
  return { name: m.name, kernel: m.variant, what: m.what, verdict: 'error', error: msg.split('\n')[0] ?? msg, killedBy: null, failing: [], differed: null, buildSeconds: 0, runSeconds: 0, report: null };
}

export async function runMutants(opts: MutantsOptions): Promise<{ outcomes: MutantOutcome[]; dir: string; ok: boolean }> {
  const all = await loadMutants(opts.repoRoot);
  // --mutant NAME takes the bug in every release; --mutant VARIANT/NAME one of them.
  const chosen = opts.only.length ? all.filter((m) => opts.only.includes(m.name) || opts.only.includes(mutantKey(m))) : all;
  const mutants = shardOf(chosen, opts.shard ?? null);
  const dir = path.resolve(opts.outDir, 'mutants', runStamp(new Date(), process.pid));
  await mkdir(dir, { recursive: true });
  const outcomes: MutantOutcome[] = [];
  // Every variant with mutants to run runs unpatched first, once per machine its mutants are judged on: that many more runs.
  const baselines = new Set(mutants.filter((m) => !m.notApplicable).flatMap((m) => [m.variant, ...(m.presentAs ? [`${m.variant} ${m.presentAs}`] : [])]));
  const total = mutants.length + baselines.size;
  const started = performance.now();
  const done = (): string => progressLine(outcomes.length, total, performance.now() - started, new Date());

  const trial = async (kernel: VariantName, m: Mutant | null, tb: BuiltTree, presentAs?: 'qemu' | 'vmware'): Promise<MutantOutcome> => {
    const name = m?.name ?? 'unpatched';
    const as = presentAs ? `-as-${presentAs}` : '';
    opts.progress(`${kernel}/${name}${as}: kernel ${tb.reused ? 'reused' : `built in ${tb.seconds} s`}; running the suite`);
    const t0 = performance.now();
    const r = await runVmTest({ ...opts, ...(presentAs ? { presentAs } : {}), label: `${kernel}-${name}${as}-smp${opts.smp}-possible${opts.possibleCpus}`, failFast: opts.failFast && m !== null, builtTree: tb.dir, runDir: path.join(dir, `${kernel}-${name}${as}`), tap: () => undefined, progress: () => undefined });
    const first = firstDifference(r);
    const judged = mutantVerdict(r);
    const verdict = m ? judged : r.ok ? 'passed' : judged === 'error' ? 'error' : 'failed';
    // Only what proves something about the kernel: a scenario that errored killed nothing.
    const failing = r.scenarios.filter((s) => s.status === 'fail' || s.status === 'crash').map((s) => s.name);
    const out: MutantOutcome = {
      name,
      kernel,
      ...(presentAs ? { presentAs } : {}),
      what: m?.what ?? `the ${variantOf(kernel).release} source as Debian ships it (${variantOf(kernel).kind} config)`,
      verdict,
      killedBy: verdict === 'killed' || verdict === 'failed' ? (first?.scenario ?? null) : null,
      failing,
      differed: first?.differed ?? null,
      buildSeconds: tb.seconds,
      runSeconds: Math.round((performance.now() - t0) / 100) / 10,
      report: r.files.report,
    };
    if (verdict === 'error') out.error = runError(r);
    opts.progress(`${kernel}/${name}: ${verdict}${out.killedBy ? ` by ${out.killedBy}` : ''} ${progressLine(outcomes.length + 1, total, performance.now() - started, new Date())}`);
    return out;
  };

  const vopts = { repoRoot: opts.repoRoot, progress: opts.progress, signal: opts.signal };
  for (const variant of VARIANT_NAMES) {
    const all = mutants.filter((m) => m.variant === variant);
    if (all.length === 0 || opts.signal?.aborted) continue;
    // A mutant that does not apply is reported as such; a variant with nothing else chosen is not even built.
    for (const m of all.filter((x) => x.notApplicable)) {
      outcomes.push({ name: m.name, kernel: variant, what: m.what, verdict: 'not-applicable', killedBy: null, failing: [], differed: null, buildSeconds: 0, runSeconds: 0, report: null });
      opts.progress(`${variant}/${m.name}: does not apply (${m.what.slice(0, 120)}...)`);
    }
    const ms = all.filter((m) => !m.notApplicable);
    if (ms.length === 0) continue;
    opts.progress(`${variant}: the unpatched kernel, then ${ms.length} mutant(s) ${done()}`);
    const tree = await variantTree(variant, vopts);
    const base = await buildTree(tree);
    outcomes.push(await trial(variant, null, base));
    // A mutant judged on another machine (Present-as:) is judged against the unpatched kernel on that machine too.
    for (const as of new Set(ms.flatMap((m) => (m.presentAs ? [m.presentAs] : [])))) outcomes.push(await trial(variant, null, base, as));
    for (const m of ms) {
      if (opts.signal?.aborted) break;
      // A mutant that does not apply or build is an error of the run (the patch is stale), not a kill.
      const o = await variantPatchedTree(variant, tree, [{ ...m, name: `vm/mutants/${variant}/${m.name}.patch` }], `${variant}/${m.name}`, vopts)
        .then(buildTree)
        .then((tb) => trial(variant, m, tb, m.presentAs))
        .catch((e: unknown) => {
          // An interrupt is no error of the mutant: stop the whole run.
          if (opts.signal?.aborted) throw e;
          opts.progress(`${variant}/${m.name}: error ${progressLine(outcomes.length + 1, total, performance.now() - started, new Date())}`);
          return errored(m, e);
        });
      outcomes.push(o);
    }
  }
  const ok = mutantsOk(outcomes, mutants.map(mutantKey));
  const fingerprint = hashOf(JSON.stringify([opts.scenarios.map((x) => x.name), opts.seed, opts.failFast, opts.smp, opts.possibleCpus, opts.memoryMb, opts.machine, opts.boot, opts.accel, opts.presentAs ?? 'auto']));
  const report: MutantsReport = { ok, shard: opts.shard ?? null, planned: chosen.map(mutantKey), fingerprint, seed: opts.seed, failFast: opts.failFast, outcomes };
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return { outcomes, dir, ok };
}
