/**
 * TAP version 14 for the run: one subtest per scenario, one assertion per
 * step. Pure; the runner prints each scenario as soon as it ends.
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

export function tapHeader(count: number, comments: string[]): string {
  return ['TAP version 14', ...comments.map((c) => `# ${c}`), `1..${count}`].join('\n');
}

function crashPoint(n: number, c: CrashFinding): string {
  return [`    not ok ${n} - kernel console: ${desc(c.title)}`, yamlBlock({ line: String(c.line), excerpt: c.excerpt }, '      ')].join('\n');
}

export function tapScenario(index: number, r: ScenarioResult): string {
  const out = [`# Subtest: ${r.name}`, `    # ${r.claim}`];
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
  for (const c of r.crashes) out.push(crashPoint(++n, c));
  if (r.error) out.push(`    not ok ${++n} - scenario stopped`, yamlBlock({ error: r.error }, '      '));
  // The status goes in a diagnostic line, never in the name: kunit.py pairs
  // "# Subtest: NAME" with the result line of the same NAME.
  if (r.status !== 'pass' && r.status !== 'skip') out.push(`    # ${r.name}: ${r.status}`);
  out.push(`    1..${n}`);
  const skip = r.status === 'skip' ? ` # SKIP ${skipReason(r)}` : ` # time=${r.durationMs}ms`;
  out.push(`${r.status === 'pass' || r.status === 'skip' ? 'ok' : 'not ok'} ${index} - ${desc(r.name)}${skip}`);
  return out.join('\n');
}

/**
 * The scenarios a run never reached (it stopped: a set-up error, a dead or
 * hung guest, an interrupt), numbered after those it ran, so the document
 * still has its whole plan: each is "not ok ... # not run: <why>". Not a
 * skip: a skip is what a run decides about a claim it cannot check here,
 * and a run that stopped must not read as green to a reader that counts
 * skips as fine (kunit.py exits 0 on passes and skips).
 */
export function tapNotRun(first: number, names: readonly string[], why: string): string {
  const reason = desc(why.split('\n')[0] ?? why);
  return names.map((name, i) => `not ok ${first + i} - ${desc(name)} # not run: ${reason}`).join('\n');
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
  const body = tap.split('\n').filter((l) => l !== 'TAP version 14');
  if (!body.some((l) => /^1\.\.\d+/.test(l))) body.push('1..0');
  return [`# Subtest: ${label}`, indent(body.join('\n'), '    '), `${ok ? 'ok' : 'not ok'} ${index} - ${label}`].join('\n');
}
