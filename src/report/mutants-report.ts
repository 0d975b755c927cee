/** What make mutants found: each mutant's outcome, and the verdicts drawn from run reports. Pure. */
import { mutantKey } from '../kernel/mutant.js';
import type { VariantName } from '../kernel/variants.js';
import type { Shard } from './matrix-report.js';
import type { RunReport } from './report.js';
import { firstDifferingReading } from './results.js';

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
  /** The mutant's "Survives:" reason: survived is then its passing verdict, and killed a failure. */
  survives?: string;
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
 * mutant was judged and killed (or says why it does not apply), but one
 * its architecture cannot show, which must survive. Pure.
 */
export function mutantsOk(outcomes: readonly MutantOutcome[], planned: readonly string[]): boolean {
  const bases = outcomes.filter((o) => o.name === 'unpatched');
  const judged = outcomes.filter((o) => o.name !== 'unpatched');
  return (
    bases.every((o) => o.verdict === 'passed') &&
    judged.every((o) => (o.survives !== undefined ? o.verdict === 'survived' : o.verdict === 'killed' || o.verdict === 'not-applicable')) &&
    planned.every((k) => judged.some((o) => mutantKey(o) === k))
  );
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

