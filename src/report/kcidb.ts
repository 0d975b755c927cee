/**
 * KCIDB I/O v5.3 (KernelCI's common results database): the kernels as
 * checkouts and builds, every scenario of every run as a test at path
 * refprobe.<scenario>, with the run's topology as its environment. The
 * harness knows a kernel by its banner, not by a git commit: one checkout
 * and one build per banner. Ids are
 * <origin>:<local id>; a test's id names the submission, the run and the
 * scenario, so two submissions never collide while the path stays the same
 * across runs for tracking. Pure.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { scenarioOutcomes, type FinishedRun, type Verdict } from './results.js';

export type KcidbStatus = 'PASS' | 'FAIL' | 'ERROR' | 'MISS' | 'SKIP' | 'DONE';

const STATUS: Record<Verdict, KcidbStatus> = { pass: 'PASS', fail: 'FAIL', crash: 'FAIL', error: 'ERROR', skip: 'SKIP', 'not-run': 'MISS' };

export interface KcidbTest {
  id: string;
  origin: string;
  build_id: string;
  path: string;
  status: KcidbStatus;
  comment?: string;
  start_time?: string;
  duration?: number;
  log_url?: string;
  log_excerpt?: string;
  environment?: { comment?: string; misc?: Record<string, unknown> };
  output_files?: { name: string; url: string }[];
  misc?: Record<string, unknown>;
}

export interface KcidbDocument {
  version: { major: 5; minor: 3 };
  checkouts: {
    id: string;
    origin: string;
    comment?: string;
    valid?: boolean;
    git_commit_hash?: string;
    git_repository_url?: string;
    git_repository_branch?: string;
    misc?: Record<string, unknown>;
  }[];
  builds: { id: string; origin: string; checkout_id: string; architecture?: string; config_name?: string; comment?: string; status?: KcidbStatus; misc?: Record<string, unknown> }[];
  tests: KcidbTest[];
}

const short = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
const MAX_EXCERPT = 16384;
// KCIDB strings may hold anything but NUL.
const clean = (s: string): string => s.replace(/\0/g, '');

export interface KcidbOptions {
  /** The submitting system, [a-z0-9_]+ (--kcidb-origin; KernelCI assigns one per CI system). */
  origin: string;
  /** Identifies this submission, e.g. the run directory's name. */
  submission: string;
  /**
   * Where the run directories are published (--artifacts-url), and the local
   * directory they are under (--out): a log's URL is the base and its path
   * below that directory. Without a base, logs are file:// URLs of this host.
   */
  artifacts?: { baseUrl: string; outDir: string } | null;
}

/** The URL a database reader can fetch a run's file from. Pure. */
export function artifactUrl(file: string, artifacts: KcidbOptions['artifacts']): string {
  if (!artifacts) return pathToFileURL(file).href;
  const rel = path.relative(path.resolve(artifacts.outDir), path.resolve(file)).split(path.sep).map(encodeURIComponent).join('/');
  return `${artifacts.baseUrl.replace(/\/+$/, '')}/${rel}`;
}

/** The git fields KCIDB takes from a git tree's checkout: the URL only when it is https (the schema's rule). */
function gitFields(c: NonNullable<NonNullable<FinishedRun['report']['provenance']>['kernelCheckout']>): Record<string, string> {
  return {
    ...(/^[0-9a-f]{40}$/.test(c.commit) ? { git_commit_hash: c.commit } : {}),
    ...(c.repository && /^https:\/\//.test(c.repository) ? { git_repository_url: c.repository } : {}),
    ...(c.branch ? { git_repository_branch: c.branch } : {}),
  };
}

export function kcidbDocument(runs: readonly FinishedRun[], suite: readonly { name: string; claim: string }[], opts: KcidbOptions): KcidbDocument {
  const o = opts.origin;
  const doc: KcidbDocument = { version: { major: 5, minor: 3 }, checkouts: [], builds: [], tests: [] };
  for (const run of runs) {
    const r = run.report;
    const banner = r.kernel?.banner ?? `unknown kernel (${run.label})`;
    const checkoutId = `${o}:checkout-${short(banner)}`;
    const git = r.provenance?.kernelCheckout ?? null;
    if (!doc.checkouts.some((c) => c.id === checkoutId)) {
      doc.checkouts.push({ id: checkoutId, origin: o, comment: clean(banner), valid: r.kernel !== null, ...(git ? gitFields(git) : {}), ...(git?.repository ? { misc: { repository: git.repository } } : {}) });
    }
    // The banner carries the build's number and time: a rebuilt tree is another build.
    const buildId = `${o}:build-${short(`${r.kernel?.image ?? run.label}\0${banner}`)}`;
    if (!doc.builds.some((b) => b.id === buildId)) {
      doc.builds.push({
        id: buildId,
        origin: o,
        checkout_id: checkoutId,
        architecture: 'x86_64',
        config_name: `${r.variant ?? 'unknown'}${r.tracker ? '+tracker' : ''}`,
        comment: r.kernel?.release ?? 'unknown',
        // Booted with the module loaded: the build is good for the suite.
        ...(r.topology ? { status: 'PASS' as const } : {}),
        misc: { image: r.kernel?.image ?? null, kdir: r.kernel?.kdir ?? null, vermagic: r.module?.vermagic ?? null },
      });
    }
    const env = { comment: clean(`${run.label}: ${r.target ?? 'no target'}`), misc: { label: run.label, online: r.topology?.online ?? null, possible: r.topology?.possible ?? null, accel: r.accel?.accel ?? null } };
    for (const so of scenarioOutcomes(run, suite)) {
      const excerpt = clean([so.message, so.detail].filter(Boolean).join('\n\n'));
      const t: KcidbTest = {
        id: `${o}:${opts.submission}.${run.label}.${so.name}`,
        origin: o,
        build_id: buildId,
        path: `refprobe.${so.name}`,
        status: STATUS[so.verdict],
        comment: clean(so.claim),
        // Each scenario's own start (reports before it carried one: the run's).
        start_time: so.result?.startedAt ?? r.startedAt,
        duration: so.duration,
        environment: env,
        log_url: artifactUrl(r.files.console, opts.artifacts),
        output_files: [{ name: 'report.json', url: artifactUrl(r.files.report, opts.artifacts) }],
        misc: { seed: r.seed, steps: so.result?.steps.length ?? 0, matched: so.result?.steps.filter((s) => s.ok && !s.skip).length ?? 0 },
      };
      if (excerpt) t.log_excerpt = excerpt.length > MAX_EXCERPT ? `${excerpt.slice(0, MAX_EXCERPT - 40)}\n[cut: see the console log]` : excerpt;
      doc.tests.push(t);
    }
  }
  return doc;
}
