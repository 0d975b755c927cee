/**
 * KTAP version 1 (Documentation/dev-tools/ktap.rst) for the run: one
 * subtest per scenario, one test per step. Each subtest opens with its own
 * indented version line, then its "# Subtest:" name, its plan and its
 * results, and closes with its result line one level up. Only steps are
 * tests: a kernel complaint or the reason a scenario stopped is a diagnostic
 * of the scenario, whose own result line fails. Pure; the runner prints
 * each scenario as soon as it ends.
 */
import type { CrashFinding } from '../crash/classify.js';
import { skipReason, type ScenarioResult } from './report.js';

const indent = (text: string, pad: string): string =>
  text
    .split('\n')
    .map((l) => (l ? pad + l : l))
    .join('\n');

function yamlBlock(fields: Record<string, string | undefined>, pad: string): string {
  const lines = ['---'];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (v.includes('\n')) lines.push(`${k}: |`, indent(v, '  '));
    else lines.push(`${k}: ${JSON.stringify(v)}`);
  }
  lines.push('...');
  return indent(lines.join('\n'), pad);
}

/**
 * A test name: KTAP readers (kunit.py) take everything up to the first '#'
 * as the name and match a subtest's result line to its header by that name,
 * so a name carries no '#' and nothing but the name.
 */
const desc = (s: string): string => s.replace(/#/g, 'no. ').replace(/\s+/g, ' ').trim();

export const KTAP_VERSION = 'KTAP version 1';

export function tapHeader(count: number, comments: string[]): string {
  return [KTAP_VERSION, ...comments.map((c) => `# ${c}`), `1..${count}`].join('\n');
}

/** A kernel complaint in a scenario: diagnostics (the scenario's result line fails), not a test of its own. */
function crashNote(c: CrashFinding): string[] {
  return [`    # kernel console, line ${c.line}: ${c.title}`, ...c.excerpt.split('\n').map((l) => `    # | ${l}`)];
}

export function tapScenario(index: number, r: ScenarioResult): string {
  const out = [`    ${KTAP_VERSION}`, `    # Subtest: ${r.name}`, `    # ${r.claim}`, `    1..${r.steps.length}`];
  let n = 0;
  for (const s of r.steps) {
    n++;
    if (s.skip) {
      out.push(`    ok ${n} - ${desc(s.op)} # SKIP ${s.skip}`);
      continue;
    }
    out.push(`    ${s.ok ? 'ok' : 'not ok'} ${n} - ${desc(s.op)}`);
    if (s.note && s.ok) out.push(`    # ${s.note}`);
    if (!s.ok) out.push(yamlBlock({ note: s.note, diff: s.diff }, '      '));
  }
  for (const c of r.crashes) out.push(...crashNote(c));
  if (r.error) out.push(...`scenario stopped: ${r.error}`.split('\n').map((l) => `    # ${l}`));
  // The status goes in a diagnostic line, never in the name: kunit.py pairs
  // "# Subtest: NAME" with the result line of the same NAME.
  if (r.status !== 'pass' && r.status !== 'skip') out.push(`    # ${r.name}: ${r.status}`);
  const skip = r.status === 'skip' ? ` # SKIP ${skipReason(r)}` : ` # time=${r.durationMs}ms`;
  out.push(`${r.status === 'pass' || r.status === 'skip' ? 'ok' : 'not ok'} ${index} - ${desc(r.name)}${skip}`);
  return out.join('\n');
}

/**
 * The scenarios a run never reached (it stopped: a set-up error, a dead or
 * hung guest, an interrupt), numbered after those it ran, so the document
 * keeps its whole plan. KTAP has no "not run": each is a SKIP that says
 * why, which kunit.py counts as skipped, not failed. The run itself must
 * not read as green, though (kunit.py exits 0 on passes and skips): when
 * it stopped before any scenario, nothing else fails, so the first one
 * never reached carries the run's failure.
 */
export function tapNotRun(first: number, names: readonly string[], why: string): string {
  const reason = desc(why.split('\n')[0] ?? why);
  return names
    .map((name, i) => (i === 0 && first === 1 ? `not ok ${first} - ${desc(name)} # the run stopped before it: ${reason}` : `not ok ${first + i} - ${desc(name)} # SKIP not run: ${reason}`))
    .join('\n');
}

/** The closing line people read first. */
export function tapSummary(results: readonly ScenarioResult[]): string {
  const count = (st: string): number => results.filter((r) => r.status === st).length;
  const steps = results.flatMap((r) => r.steps);
  const run = steps.filter((s) => !s.skip);
  return `# scenarios: ${count('pass')} passed, ${count('skip')} skipped, ${count('fail')} failed, ${count('crash')} crashed, ${count('error')} errored; steps: ${run.filter((s) => s.ok).length}/${run.length} matched the model, ${steps.length - run.length} skipped`;
}

/** One matrix cell's whole TAP stream as a subtest of the matrix's. */
export function tapCell(index: number, label: string, tap: string, ok: boolean): string {
  const body = tap.split('\n').filter((l) => l !== KTAP_VERSION);
  if (!body.some((l) => /^1\.\.\d+/.test(l))) body.push('1..0');
  return [`    ${KTAP_VERSION}`, `    # Subtest: ${label}`, indent(body.join('\n'), '    '), `${ok ? 'ok' : 'not ok'} ${index} - ${label}`].join('\n');
}
