/** The mutants run as a table: mutant -> verdict -> the scenario that killed it -> what differed. Pure. */
import type { MutantOutcome } from '../run/mutants.js';

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function mutantTable(outcomes: readonly MutantOutcome[]): string {
  const rows = outcomes.map((o) => [
    o.name,
    o.kernel,
    o.verdict,
    o.killedBy ?? '-',
    clip(o.verdict === 'error' ? `error: ${o.error ?? '?'}` : (o.differed ?? '-'), 110).replace(/\|/g, '\\|'),
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
