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
 * The kernels build one after another ahead of the runs (buildAhead): the
 * next one builds while the suite runs on this one.
 */
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildTree, type BuiltTree, type TreeBuild } from '../kernel/build-tree.js';
import { variantPatchedTree, variantTree, type VariantBuildOptions } from '../kernel/build-variant.js';
import { mutantKey, parseMutant, touchesHeader, type Mutant } from '../kernel/mutant.js';
import { VARIANT_NAMES, variantOf, type VariantName } from '../kernel/variants.js';
import type { RunReport } from '../report/report.js';
import { firstDifference, mutantsOk, mutantVerdict, type MutantOutcome, type MutantsReport } from '../report/mutants-report.js';
import { progressLine } from '../report/progress.js';
import { hashOf } from '../cache/cache.js';
import { shardOf, type Shard } from './shard.js';
import { runStamp } from './run-dir.js';
import { runVmTest, type RunContext, type RunRequest } from './vm-test.js';
import { qemuBackend, type CpuRequest, type QemuSettings } from '../backend/qemu/guest.js';

/** Which mutants, on what guest: every run (unpatched and mutant) alike but for the kernel. */
export interface MutantsRequest extends Omit<RunRequest, 'backend' | 'label' | 'failFast'> {
  guest: QemuSettings;
  cpus: CpuRequest;
  only: string[];
  /** --shard K/N: every Nth of the chosen mutants from the Kth. */
  shard?: Shard | null;
  /** A mutant's run stops at its first failing scenario (the unpatched runs never do). */
  failFast: boolean;
  /** Leave out the mutants that must survive (Survives:): their kernels are the correct one's, instruction for instruction. */
  killsOnly?: boolean;
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
 * The kernels of jobs, built one after another in their order, ahead of the
 * runs: while the suite runs on one kernel (mostly waiting on the guest's
 * unregister timers), the next one builds, at nice 19 so that the guest's
 * vCPUs never wait for it. A variant is built before its mutants (they
 * start from its objects). Each promise settles on its own kernel; a build
 * that fails fails only its own job.
 */
function buildAhead(jobs: readonly { variant: VariantName; m: Mutant | null }[], vopts: VariantBuildOptions): Promise<BuiltTree>[] {
  const trees = new Map<VariantName, Promise<TreeBuild>>();
  const treeOf = (v: VariantName): Promise<TreeBuild> => {
    let t = trees.get(v);
    if (!t) trees.set(v, (t = variantTree(v, vopts).then((tb) => ({ ...tb, nice: true }))));
    return t;
  };
  let previous: Promise<unknown> = Promise.resolve();
  return jobs.map(({ variant, m }) => {
    const build = previous.then(async () => {
      if (vopts.signal?.aborted) throw new Error('interrupted');
      const tree = await treeOf(variant);
      return buildTree(m ? await variantPatchedTree(variant, tree, [{ ...m, name: `vm/mutants/${variant}/${m.name}.patch` }], `${variant}/${m.name}`, vopts) : tree);
    });
    // The next build starts when this one ends, however it ends; its failure is its job's, awaited there.
    previous = build.catch(() => undefined);
    return build;
  });
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

export async function runMutants(req: MutantsRequest, opts: Omit<RunContext, 'tap' | 'runDir'>): Promise<{ outcomes: MutantOutcome[]; dir: string; ok: boolean }> {
  const all = await loadMutants(opts.repoRoot);
  // --mutant NAME takes the bug in every release; --mutant VARIANT/NAME one of them.
  const named = req.only.length ? all.filter((m) => req.only.includes(m.name) || req.only.includes(mutantKey(m))) : all;
  const chosen = req.killsOnly ? named.filter((m) => m.survives === undefined) : named;
  const mutants = shardOf(chosen, req.shard ?? null);
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
    const backend = qemuBackend({ builtTree: tb.dir }, req.cpus, { ...req.guest, ...(presentAs ? { presentAs } : {}) });
    const label = `${kernel}-${name}${as}-smp${req.cpus.smp}-possible${req.cpus.possibleCpus}`;
    const r = await runVmTest(
      { backend, scenarios: req.scenarios, moduleParams: req.moduleParams, label, failFast: req.failFast && m !== null },
      { ...opts, runDir: path.join(dir, `${kernel}-${name}${as}`), tap: () => undefined, progress: () => undefined },
    );
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
    if (m?.survives) out.survives = m.survives;
    opts.progress(`${kernel}/${name}: ${verdict}${out.killedBy ? ` by ${out.killedBy}` : ''} ${progressLine(outcomes.length + 1, total, performance.now() - started, new Date())}`);
    return out;
  };

  const vopts = { repoRoot: opts.repoRoot, progress: opts.progress, signal: opts.signal };
  // Per variant with something to run: the unpatched kernel, then its mutants; a mutant that does not apply is only reported.
  const jobs: { variant: VariantName; m: Mutant | null }[] = [];
  for (const variant of VARIANT_NAMES) {
    const ms = mutants.filter((m) => m.variant === variant);
    for (const m of ms.filter((x) => x.notApplicable)) {
      outcomes.push({ name: m.name, kernel: variant, what: m.what, verdict: 'not-applicable', killedBy: null, failing: [], differed: null, buildSeconds: 0, runSeconds: 0, report: null });
      opts.progress(`${variant}/${m.name}: does not apply (${m.what.slice(0, 120)}...)`);
    }
    const run = ms.filter((m) => !m.notApplicable);
    if (run.length) jobs.push({ variant, m: null }, ...run.map((m) => ({ variant, m })));
  }
  const builds = buildAhead(jobs, vopts);
  for (const [i, job] of jobs.entries()) {
    if (opts.signal?.aborted) break;
    const { variant, m } = job;
    const built = builds[i] as Promise<BuiltTree>;
    if (m === null) {
      const count = jobs.filter((j) => j.variant === variant && j.m).length;
      opts.progress(`${variant}: the unpatched kernel, then ${count} mutant(s) ${done()}`);
      const base = await built;
      outcomes.push(await trial(variant, null, base));
      // A mutant judged on another machine (Present-as:) is judged against the unpatched kernel on that machine too.
      const machines = new Set(jobs.flatMap((j) => (j.variant === variant && j.m?.presentAs ? [j.m.presentAs] : [])));
      for (const as of machines) outcomes.push(await trial(variant, null, base, as));
      continue;
    }
    // A mutant that does not apply or build is an error of the run (the patch is stale), not a kill.
    const o = await built
      .then((tb) => trial(variant, m, tb, m.presentAs))
      .catch((e: unknown) => {
        // An interrupt is no error of the mutant: stop the whole run.
        if (opts.signal?.aborted) throw e;
        opts.progress(`${variant}/${m.name}: error ${progressLine(outcomes.length + 1, total, performance.now() - started, new Date())}`);
        return errored(m, e);
      });
    outcomes.push(o);
  }
  const ok = mutantsOk(outcomes, mutants.map(mutantKey));
  const fingerprint = hashOf(JSON.stringify([req.scenarios.map((x) => x.name), opts.seed, req.failFast, req.cpus.smp, req.cpus.possibleCpus, req.guest.memoryMb, req.guest.machine, req.guest.boot, req.guest.accel, req.guest.presentAs]));
  const report: MutantsReport = { ok, shard: req.shard ?? null, planned: chosen.map(mutantKey), fingerprint, seed: opts.seed, failFast: req.failFast, outcomes };
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return { outcomes, dir, ok };
}
