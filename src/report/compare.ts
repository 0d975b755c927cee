/**
 * Two sets of runs side by side (last week's and today's, a kernel and its
 * patched self): per run (kernel x topology) and scenario, what changed.
 * Runs are matched by label; when the two sides share no label (two
 * different kernels) and each names one run per topology, by topology. A
 * scenario that fails with nothing to compare it with counts as regressed.
 * Each run also has a RUN_LEVEL row: kernel complaints no scenario owns, a
 * guest that hung or died. Pure.
 */
import type { RunReport } from './report.js';
import { scenarioOutcomes, type ScenarioOutcome, type Verdict } from './results.js';

export interface LabelledRun {
  label: string;
  report: RunReport;
}

export type Change = 'regressed' | 'fixed' | 'unchanged' | 'changed' | 'new' | 'gone';

export interface ComparedScenario {
  run: string;
  scenario: string;
  a: Verdict | null;
  b: Verdict | null;
  change: Change;
  /** Why B is not a pass (its first difference, complaint or error), when it changed. */
  detail: string;
}

export interface Comparison {
  /** How runs were paired: by label, or by topology when the labels differ. */
  matchedBy: 'label' | 'topology';
  rows: ComparedScenario[];
  counts: Record<Change, number>;
}

const topology = (label: string): string => /smp\d+-possible\d+$/.exec(label)?.[0] ?? label;

type Class = 'good' | 'skip' | 'bad' | 'unjudged';
const classOf = (v: Verdict): Class => (v === 'pass' ? 'good' : v === 'skip' ? 'skip' : v === 'fail' || v === 'crash' ? 'bad' : 'unjudged');

export function changeOf(a: Verdict | null, b: Verdict | null): Change {
  // Nothing to tolerate it against: a new failure is a regression.
  if (a === null) return b !== null && classOf(b) === 'bad' ? 'regressed' : 'new';
  if (b === null) return 'gone';
  if (a === b) return 'unchanged';
  const [ca, cb] = [classOf(a), classOf(b)];
  if (cb === 'bad' && ca !== 'bad') return 'regressed';
  if (ca === 'bad' && cb === 'good') return 'fixed';
  return 'changed';
}

/**
 * Every scenario the run set out to run. A report of an older version does
 * not say: a run that stopped early is taken to have planned what the other
 * side ran, so what it never reached is not-run, not gone.
 */
function outcomes(run: LabelledRun, otherNames: readonly string[]): Map<string, ScenarioOutcome> {
  const r = run.report;
  const ran = r.scenarios.map((s) => s.name);
  const planned = r.planned ?? (r.error ? [...new Set([...ran, ...otherNames])] : ran);
  const suite = planned.map((name) => ({ name, claim: r.scenarios.find((s) => s.name === name)?.claim ?? '' }));
  return new Map(scenarioOutcomes({ label: run.label, report: r, console: [] }, suite).map((o) => [o.name, o]));
}

/**
 * `onlyB`: only what B ran (the runs and scenarios it set out to run), as
 * --baseline wants it: a run of two scenarios against a full baseline is no
 * list of 18 gone ones.
 */
export function compareRuns(a: readonly LabelledRun[], b: readonly LabelledRun[], onlyB = false): Comparison {
  // By topology only when it names one run on each side: two kernels on one topology are not one run.
  const unique = (rs: readonly LabelledRun[]): boolean => new Set(rs.map((r) => topology(r.label))).size === rs.length;
  const shared = a.some((x) => b.some((y) => y.label === x.label)) || !unique(a) || !unique(b);
  const key = shared ? (r: LabelledRun): string => r.label : (r: LabelledRun): string => topology(r.label);
  const keys = [...new Set([...(onlyB ? [] : a.map(key)), ...b.map(key)])];
  const rows: ComparedScenario[] = [];
  for (const k of keys) {
    const ra = a.find((r) => key(r) === k);
    const rb = b.find((r) => key(r) === k);
    const names = (r: LabelledRun | undefined): string[] => r?.report.planned ?? r?.report.scenarios.map((s) => s.name) ?? [];
    const oa = ra ? outcomes(ra, names(rb)) : new Map<string, ScenarioOutcome>();
    const ob = rb ? outcomes(rb, names(ra)) : new Map<string, ScenarioOutcome>();
    const run = ra && rb && ra.label !== rb.label ? `${ra.label} / ${rb.label}` : (rb ?? ra)?.label ?? k;
    for (const name of [...new Set([...(onlyB ? [] : oa.keys()), ...ob.keys()])]) {
      const va = oa.get(name)?.verdict ?? null;
      const vb = ob.get(name)?.verdict ?? null;
      const change = changeOf(va, vb);
      const why = ob.get(name);
      rows.push({ run, scenario: name, a: va, b: vb, change, detail: change === 'unchanged' || !why ? '' : why.message });
    }
  }
  const counts = { regressed: 0, fixed: 0, unchanged: 0, changed: 0, new: 0, gone: 0 } as Record<Change, number>;
  for (const r of rows) counts[r.change]++;
  return { matchedBy: shared ? 'label' : 'topology', rows, counts };
}

/**
 * What --strict holds against B besides regressions: a scenario that passed
 * in A and that B did not judge (an error, never reached, or missing). A CI
 * gate must not pass on a run that did not finish.
 */
export function unfinished(c: Comparison): ComparedScenario[] {
  return c.rows.filter((r) => r.a !== null && classOf(r.a) === 'good' && (r.b === null || classOf(r.b) === 'unjudged'));
}

/** The line that says why --strict fails, or null. Pure. */
export function strictNote(c: Comparison): string | null {
  const u = unfinished(c);
  if (u.length === 0) return null;
  const first = u[0] as ComparedScenario;
  return `${u.length} scenario(s) passed in A and were not judged in B (errored, never reached or missing); first: ${first.scenario} (${first.run}): ${first.b ?? 'missing'}${first.detail ? `: ${first.detail.split('\n')[0]}` : ''}`;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The comparison as a table for people: every row that changed (all with `all`), then the counts. */
export function comparisonTable(c: Comparison, all = false, sides = { a: 'A', b: 'B' }, width = 110): string {
  const rows = c.rows.filter((r) => all || r.change !== 'unchanged');
  const lines = [`| run | scenario | ${sides.a} | ${sides.b} | change | ${sides.b}, where it is not a pass |`, '|---|---|---|---|---|---|'];
  const cell = (text: string): string => clip(text, width).replace(/\|/g, '\\|');
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as ComparedScenario;
    // The scenarios a stopped run never reached share one reason: one row for all of them.
    let j = i;
    while (r.b === 'not-run' && rows[j + 1]?.b === 'not-run' && rows[j + 1]?.run === r.run) j++;
    if (j > i) {
      const as = [...new Set(rows.slice(i, j + 1).map((x) => x.a ?? '-'))].join('/');
      lines.push(`| ${r.run} | ${r.scenario} .. ${rows[j]?.scenario} (${j - i + 1}) | ${as} | not-run | not run | ${cell(r.detail)} |`);
      i = j;
      continue;
    }
    lines.push(`| ${r.run} | ${r.scenario} | ${r.a ?? '-'} | ${r.b ?? '-'} | ${r.change === 'regressed' ? '**regressed**' : r.change} | ${cell(r.detail)} |`);
  }
  if (rows.length === 0) lines.push('| (nothing changed) | | | | | |');
  const n = c.counts;
  lines.push('', `${n.regressed} regressed, ${n.fixed} fixed, ${n.changed} changed, ${n.new} new, ${n.gone} gone, ${n.unchanged} unchanged (runs matched by ${c.matchedBy})`);
  return lines.join('\n');
}
