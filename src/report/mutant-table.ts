/** The mutants run as a table: mutant -> verdict -> the scenario that killed it -> what differed. Pure. */
import type { MutantOutcome } from './mutants-report.js';

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function mutantTable(outcomes: readonly MutantOutcome[]): string {
  const rows = outcomes.map((o) => [
    o.name,
    o.presentAs ? `${o.kernel} (as ${o.presentAs})` : o.kernel,
    o.survives === undefined ? o.verdict : o.verdict === 'survived' ? 'survived (as predicted)' : `${o.verdict} (predicted to survive)`,
    o.killedBy ?? '-',
    clip(o.verdict === 'error' ? `error: ${o.error ?? '?'}` : o.verdict === 'not-applicable' ? o.what : o.survives !== undefined && o.verdict === 'survived' ? o.survives : (o.differed ?? '-'), 110).replace(/\|/g, '\\|'),
    o.failing.filter((f) => f !== o.killedBy).join(', ') || '-',
    `${o.buildSeconds} s`,
    `${o.runSeconds} s`,
  ]);
  const head = ['mutant', 'kernel', 'verdict', 'killed by', 'what differed there', 'also failed', 'build', 'suite'];
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/**
 * Per scenario, the mutants it kills (fails on): which bugs each check is
 * proven to catch. A scenario with none is a check no mutant proves.
 */
export function scenarioKills(outcomes: readonly MutantOutcome[], scenarios: readonly string[]): string {
  const mutants = outcomes.filter((o) => o.name !== 'unpatched' && o.verdict === 'killed');
  const rows = scenarios.map((s) => {
    const by = mutants.filter((o) => o.failing.includes(s)).map((o) => o.name);
    return `| ${s} | ${by.length} | ${by.join(', ') || '**none**'} |`;
  });
  return ['| scenario | kills | mutants it fails on |', '|---|---|---|', ...rows].join('\n');
}

/** Scenarios no mutant made fail: the checks the mutants do not prove. */
export function unprovenScenarios(outcomes: readonly MutantOutcome[], scenarios: readonly string[]): string[] {
  const hit = new Set(outcomes.filter((o) => o.name !== 'unpatched' && o.verdict === 'killed').flatMap((o) => o.failing));
  return scenarios.filter((s) => !hit.has(s));
}

/**
 * What make mutants (and make merge of its shards) prints when it is done:
 * the table on stdout, then per scenario what it kills; the verdict and
 * where the runs are on stderr; and the exit status: 2 when a run could not
 * judge its kernel (an error is never a kill), 1 when a mutant survived or an
 * unpatched kernel failed, else 0. Pure.
 */
export function mutantsResult(
  outcomes: readonly MutantOutcome[],
  ok: boolean,
  o: { failFast: boolean; scenarios: readonly string[]; seed: number | string; where: string; tool?: string },
): { stdout: string; stderr: string; exit: number } {
  const tool = o.tool ?? 'mutants';
  let stdout = `${mutantTable(outcomes)}\n`;
  if (o.failFast) {
    stdout += '\n(--fail-fast: each mutant run stopped at its first failure; run without it for the scenarios each mutant fails)\n';
  } else {
    stdout += `\n${scenarioKills(outcomes, o.scenarios)}\n`;
    stdout += `\nscenarios no mutant made fail: ${unprovenScenarios(outcomes, o.scenarios).join(', ') || 'none'}\n`;
  }
  const killed = outcomes.filter((x) => x.verdict === 'killed' && x.survives === undefined).length;
  const inapplicable = outcomes.filter((x) => x.verdict === 'not-applicable').length;
  const expected = outcomes.filter((x) => x.survives !== undefined);
  const survivedAsPredicted = expected.filter((x) => x.verdict === 'survived').length;
  const bases = outcomes.filter((x) => x.name === 'unpatched');
  const errors = outcomes.filter((x) => x.verdict === 'error');
  let stderr = errors.map((x) => `${tool}: ${x.name}: error of the run, not a kill: ${x.error}\n`).join('');
  stderr += `\n${tool}: ${ok ? 'PASS' : 'FAIL'}: unpatched ${bases.map((x) => `${x.kernel}${x.presentAs ? ` (as ${x.presentAs})` : ''} ${x.verdict}`).join(', ')}; ${killed}/${outcomes.length - bases.length - inapplicable - expected.length} mutants killed${expected.length ? `, ${survivedAsPredicted}/${expected.length} survived where their architecture cannot show the bug, as predicted` : ''}${inapplicable ? `, ${inapplicable} not applicable to their release (the table says why)` : ''} (seed ${o.seed})\n${tool}: runs kept in ${o.where}\n`;
  return { stdout, stderr, exit: errors.length ? 2 : ok ? 0 : 1 };
}
