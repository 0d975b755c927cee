/**
 * What CI formats need from finished runs, shared by the JUnit and KCIDB
 * writers: each run with its label and console, every scenario of the suite
 * (a scenario a run never reached is listed as not run), and per scenario
 * the text that explains its verdict. Pure.
 */
import { skipReason, type RunReport, type ScenarioResult } from './report.js';

export interface FinishedRun {
  /** Stable across runs: <kernel>-smpS-possibleP. */
  label: string;
  report: RunReport;
  /** The console log, one entry per line. */
  console: readonly string[];
}

export type Verdict = ScenarioResult['status'] | 'not-run';

export interface ScenarioOutcome {
  name: string;
  claim: string;
  verdict: Verdict;
  /** Seconds. */
  duration: number;
  /** One line: why it is not a pass (empty for a pass). */
  message: string;
  /** The diffs, kernel complaints or error behind the verdict. */
  detail: string;
  /** The console lines written while it ran. */
  consoleExcerpt: string;
  result: ScenarioResult | null;
}

const MAX_CONSOLE_LINES = 200;

function failedSteps(s: ScenarioResult): string {
  return s.steps
    .filter((x) => !x.ok && !x.skip)
    .map((x) => `${x.op}${x.note ? ` (${x.note})` : ''}\n${x.diff ?? ''}`)
    .join('\n\n');
}

/** The first step whose reading differed, on one line: its operation, then the diff's - and + lines. */
export function firstDifferingReading(s: ScenarioResult): string | null {
  const step = s.steps.find((x) => !x.ok && !x.skip);
  if (!step) return null;
  const diff = (step.diff ?? '').split('\n').filter((l) => /^[-+]\s/.test(l)).join(' ').replace(/\s+/g, ' ');
  return diff ? `${step.op}: ${diff}` : step.op;
}

function explain(s: ScenarioResult): { message: string; detail: string } {
  const crashes = s.crashes.map((c) => `${c.title}\n${c.excerpt}`).join('\n\n');
  switch (s.status) {
    case 'pass':
      return { message: '', detail: '' };
    case 'skip':
      return { message: skipReason(s), detail: '' };
    case 'fail': {
      return { message: `a reading differed from the model: ${firstDifferingReading(s) ?? '?'}`, detail: [failedSteps(s), crashes, s.error ?? ''].filter(Boolean).join('\n\n') };
    }
    case 'crash':
      return { message: `the kernel complained: ${s.crashes[0]?.title ?? '?'}`, detail: [crashes, failedSteps(s), s.error ?? ''].filter(Boolean).join('\n\n') };
    case 'error':
      return { message: `the scenario could not go on: ${(s.error ?? '?').split('\n')[0]}`, detail: s.error ?? '' };
  }
}

/** The name of the outcome that stands for the run itself: what no scenario owns. */
export const RUN_LEVEL = 'run-level';

/**
 * What no scenario owns: kernel complaints between scenarios (boot, module
 * load, a device an earlier scenario could not free) and a run that stopped
 * (a hung or dead guest is a crash; a set-up error or interrupt judged nothing).
 */
function runOutcome(run: FinishedRun): ScenarioOutcome {
  const r = run.report;
  const crashes = r.crashes.map((c) => `${c.title} (console line ${c.line})\n${c.excerpt}`).join('\n\n');
  const base = { name: RUN_LEVEL, claim: 'the kernel says nothing no scenario expected, and the run completes', duration: 0, consoleExcerpt: '', result: null };
  if (r.crashes.length > 0 || r.errorKind === 'guest') {
    const first = r.crashes[0]?.title ?? r.error?.split('\n')[0] ?? '?';
    return { ...base, verdict: 'crash', message: `the kernel complained or the guest stopped: ${first}`, detail: [crashes, r.error ?? ''].filter(Boolean).join('\n\n') };
  }
  if (r.error) return { ...base, verdict: 'error', message: `the run stopped: ${r.error.split('\n')[0]}`, detail: r.error };
  return { ...base, verdict: 'pass', message: '', detail: '' };
}

/** Every scenario of the suite, in suite order, for one run, then the run itself (RUN_LEVEL). */
export function scenarioOutcomes(run: FinishedRun, suite: readonly { name: string; claim: string }[]): ScenarioOutcome[] {
  const byName = new Map(run.report.scenarios.map((s) => [s.name, s]));
  const perScenario = suite.map((sc): ScenarioOutcome => {
    const s = byName.get(sc.name);
    if (!s) {
      const why = run.report.error ? `the run stopped before it: ${run.report.error.split('\n')[0]}` : 'the run stopped before it (--fail-fast after a failure)';
      return { name: sc.name, claim: sc.claim, verdict: 'not-run', duration: 0, message: why, detail: '', consoleExcerpt: '', result: null };
    }
    const [from, to] = s.consoleLines;
    const lines = run.console.slice(from, to);
    const excerpt = (lines.length > MAX_CONSOLE_LINES ? [`[${lines.length - MAX_CONSOLE_LINES} earlier lines in the console log]`, ...lines.slice(-MAX_CONSOLE_LINES)] : lines).join('\n');
    return { name: s.name, claim: s.claim, verdict: s.status, duration: s.durationMs / 1000, ...explain(s), consoleExcerpt: excerpt, result: s };
  });
  return [...perScenario, runOutcome(run)];
}
