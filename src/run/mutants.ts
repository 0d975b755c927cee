/**
 * `make mutants`: proof that the suite catches a broken kernel. The
 * unpatched kernel (the pcpu variant: the same source and config) must pass; then each mutant is
 * applied, built incrementally in the same tree, run through the suite, and
 * reverted. A mutant is killed when the run fails; the first scenario that
 * failed, and what differed there, is what killed it. A mutant that passes
 * survived: the suite has a hole, and the whole run fails.
 */
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot, hashOf } from '../cache.js';
import { buildTree } from '../kernel/build-tree.js';
import { buildVariant, variantFragments } from '../kernel/build-variant.js';
import { parseMutant, type Mutant } from '../kernel/mutant.js';
import { applyMutant, cleanMutants, mutantSource, revertMutant } from '../kernel/mutant-tree.js';
import { DEFAULT_TARBALL, kernelSource } from '../kernel/source.js';
import type { RunReport } from '../report/report.js';
import { runStamp } from './run-dir.js';
import { runVmTest, type VmTestOptions } from './vm-test.js';

export interface MutantOutcome {
  name: string;
  what: string;
  /** 'passed' for the unpatched kernel; for a mutant, killed or survived. */
  verdict: 'passed' | 'failed' | 'killed' | 'survived' | 'error';
  /** Why the run could not judge the kernel (verdict error). */
  error?: string;
  /** The first scenario that failed: the one that killed the mutant. */
  killedBy: string | null;
  /** Every scenario that failed, to show which checks each bug trips. */
  failing: string[];
  differed: string | null;
  buildSeconds: number;
  runSeconds: number;
  report: string | null;
}

export interface MutantsOptions extends Omit<VmTestOptions, 'kernel' | 'kernelTree' | 'kdir' | 'tap' | 'runDir' | 'outDir'> {
  outDir: string;
  only: string[];
}

/**
 * The mutants, those touching only .c files first: a patched header
 * rebuilds everything that includes it (twice: applied, then reverted), so
 * the header mutants run last, together, and share those rebuilds.
 */
export async function loadMutants(repoRoot: string): Promise<Mutant[]> {
  const dir = path.join(repoRoot, 'vm/mutants');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.patch')).sort();
  const ms = await Promise.all(names.map(async (n) => parseMutant(n.replace(/\.patch$/, ''), await readFile(path.join(dir, n), 'utf8'))));
  const header = (m: Mutant): number => (m.files.some((f) => f.endsWith('.h')) ? 1 : 0);
  return ms.sort((a, b) => header(a) - header(b) || a.name.localeCompare(b.name));
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

/** Where a failed run first parted from the model: scenario, and the step or console finding. */
export function firstDifference(r: RunReport): { scenario: string; differed: string } | null {
  for (const s of r.scenarios) {
    if (s.status === 'pass' || s.status === 'skip') continue;
    const step = s.steps.find((x) => !x.ok);
    const diff = (step?.diff ?? '').split('\n').filter((l) => /^[-+]\s/.test(l)).join(' ').replace(/\s+/g, ' ');
    const crash = s.crashes[0];
    const differed = step ? `${step.op}: ${diff}` : crash ? `kernel: ${crash.title}` : (s.error ?? s.status);
    return { scenario: s.name, differed };
  }
  if (r.crashes[0]) return { scenario: '(between scenarios)', differed: `kernel: ${r.crashes[0].title}` };
  if (r.error) return { scenario: '(run)', differed: r.error.split('\n')[0] ?? r.error };
  return null;
}

/** Why a run that proved nothing stopped: its own error, or its scenarios'. */
function runError(r: RunReport): string {
  if (r.error) return r.error.split('\n')[0] ?? r.error;
  const s = r.scenarios.find((x) => x.status === 'error');
  return s ? `${s.name}: ${s.error ?? 'error'}` : 'unknown';
}

function errored(name: string, what: string, e: unknown): MutantOutcome {
  const msg = e instanceof Error ? e.message : String(e);
  return { name, what, verdict: 'error', error: msg.split('\n')[0] ?? msg, killedBy: null, failing: [], differed: null, buildSeconds: 0, runSeconds: 0, report: null };
}

export async function runMutants(opts: MutantsOptions): Promise<{ outcomes: MutantOutcome[]; dir: string; ok: boolean }> {
  const all = await loadMutants(opts.repoRoot);
  const mutants = opts.only.length ? all.filter((m) => opts.only.includes(m.name)) : all;
  const source = await kernelSource(DEFAULT_TARBALL, opts.progress);
  const srcDir = path.join(cacheRoot(), 'mutants', `src-${source.key}`);
  const buildDir = path.join(cacheRoot(), 'mutants', `build-${source.version}`);
  await mutantSource(source.dir, srcDir, opts.progress);
  const leftover = await cleanMutants(srcDir, all);
  if (leftover.length) opts.progress(`mutants: reverted ${leftover.join(', ')} left applied by an interrupted run`);
  const fragments = await variantFragments('pcpu', opts.repoRoot);
  const dir = path.resolve(opts.outDir, 'mutants', runStamp(new Date(), process.pid));
  await mkdir(dir, { recursive: true });
  const outcomes: MutantOutcome[] = [];

  const trial = async (name: string, what: string, m: Mutant | null): Promise<MutantOutcome> => {
    // The unpatched kernel is the pcpu variant: the same source and config, in its own tree.
    const tb = m
      ? await buildTree({
          label: name,
          source: srcDir,
          buildDir,
          fragments,
          inputsKey: hashOf(source.key, ...fragments, m.patch),
          progress: opts.progress,
          signal: opts.signal,
        })
      : await buildVariant('pcpu', { repoRoot: opts.repoRoot, progress: opts.progress, signal: opts.signal });
    opts.progress(`${name}: kernel ${tb.reused ? 'reused' : `built in ${tb.seconds} s`}; running the suite`);
    const t0 = performance.now();
    const r = await runVmTest({ ...opts, kernelTree: tb.dir, runDir: path.join(dir, name), tap: () => undefined, progress: () => undefined });
    const first = firstDifference(r);
    const judged = mutantVerdict(r);
    const verdict = m ? judged : r.ok ? 'passed' : judged === 'error' ? 'error' : 'failed';
    // Only what proves something about the kernel: a scenario that errored killed nothing.
    const failing = r.scenarios.filter((s) => s.status === 'fail' || s.status === 'crash').map((s) => s.name);
    const out: MutantOutcome = {
      name,
      what,
      verdict,
      killedBy: verdict === 'killed' || verdict === 'failed' ? (first?.scenario ?? null) : null,
      failing,
      differed: first?.differed ?? null,
      buildSeconds: tb.seconds,
      runSeconds: Math.round((performance.now() - t0) / 100) / 10,
      report: r.files.report,
    };
    if (verdict === 'error') out.error = runError(r);
    return out;
  };

  const base = await trial('unpatched', 'the 6.1 source as Debian ships it (pcpu config)', null);
  outcomes.push(base);
  opts.progress(`unpatched: ${base.verdict}${base.differed ? ` (${base.killedBy}: ${base.differed})` : ''}`);
  for (const m of mutants) {
    if (opts.signal?.aborted) break;
    await applyMutant(srcDir, m);
    try {
      // A mutant that does not build is an error of the run (the patch is stale), not a kill.
      const o = await trial(m.name, m.what, m).catch((e: unknown) => {
        // An interrupt is no error of the mutant: stop the whole run.
        if (opts.signal?.aborted) throw e;
        return errored(m.name, m.what, e);
      });
      outcomes.push(o);
      opts.progress(`${m.name}: ${o.verdict}${o.killedBy ? ` by ${o.killedBy}` : ''}`);
    } finally {
      await revertMutant(srcDir, m);
    }
  }
  const ok = base.verdict === 'passed' && outcomes.slice(1).every((o) => o.verdict === 'killed') && outcomes.length === mutants.length + 1;
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify({ ok, outcomes }, null, 2)}\n`);
  return { outcomes, dir, ok };
}
