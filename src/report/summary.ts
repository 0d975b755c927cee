/** The last words of a run, for people (stderr), and its exit status. Pure. */
import { EXIT } from '../exit-status.js';
import type { MatrixReport } from './matrix-report.js';
import { isPassOrSkip, skipReason, type RunReport } from './report.js';


export function exitCode(r: RunReport): number {
  if (r.ok) return EXIT.ok;
  if (r.errorKind === 'interrupted') return EXIT.interrupted;
  if (r.errorKind === 'guest' || r.crashes.length > 0 || r.scenarios.some((s) => s.status === 'crash')) return EXIT.crash;
  if (r.errorKind === 'setup' || r.errorKind === 'internal') return EXIT.usage;
  if (r.errorKind === 'untestable') return EXIT.untestable;
  return EXIT.mismatch;
}

/** Kernel complaints that are about reference counts: a kernel dying of one at boot is bad, not untestable. */
const REFCOUNT_KINDS: readonly string[] = ['refcount', 'unregister-wait', 'ref-leak'];
const REFCOUNT_CODE = /\b(dev_hold|dev_put|netdev_\w+|\w*refcnt\w*|refcount_\w+)\b/;

function aboutRefcounts(c: { kind: string; excerpt: string }): boolean {
  return REFCOUNT_KINDS.includes(c.kind) || REFCOUNT_CODE.test(c.excerpt);
}

/**
 * The exit status for \`git bisect run\` (vm-test --bisect): 0 good, 1 bad,
 * 125 skip, anything above 127 stops the bisection. Bad needs evidence
 * about the kernel, as a killed mutant does: a reading that differed, a
 * complaint or a dead guest once scenarios ran, or a complaint about
 * reference counts at any time. Skip: the tree or the module does not
 * build, the kernel refuses the module or dies before the first scenario
 * of something else, a scenario could not go on (proves nothing), or every
 * scenario skipped (nothing was judged). A set-up error or a harness bug
 * stops the bisection (as a 2 it would mark every commit bad). Pure.
 */
export function bisectExit(r: RunReport): number {
  if (r.errorKind === 'interrupted') return EXIT.interrupted;
  if (r.errorKind === 'setup' || r.errorKind === 'internal') return EXIT.bisectAbort;
  const ran = r.scenarios.length > 0;
  const complaints = [...r.crashes, ...r.scenarios.flatMap((s) => s.crashes)];
  const evidence =
    r.scenarios.some((s) => s.status === 'fail' || s.status === 'crash') ||
    complaints.some(aboutRefcounts) ||
    (ran && (r.errorKind === 'guest' || r.crashes.length > 0));
  if (evidence) return EXIT.mismatch;
  if (!r.ok || !r.scenarios.some((s) => s.status === 'pass')) return EXIT.untestable;
  return EXIT.ok;
}

export function summary(r: RunReport): string {
  const lines: string[] = [''];
  const passed = r.scenarios.filter((s) => s.status === 'pass').length;
  const skipped = r.scenarios.filter((s) => s.status === 'skip');
  const skips = skipped.length ? `, ${skipped.length} skipped` : '';
  if (r.ok) {
    lines.push(`vm-test: PASS: ${passed} scenarios matched the model${skips} on ${r.kernel?.release} (${r.variant}, ${r.target})`);
  } else {
    lines.push(`vm-test: FAIL: ${passed}/${r.scenarios.length} scenarios matched the model${skips}`);
    for (const s of r.scenarios.filter((x) => !isPassOrSkip(x.status))) {
      lines.push(`  ${s.name}: ${s.status}${s.error ? ` (${s.error.split('\n')[0]})` : ''}`);
      for (const st of s.steps.filter((x) => !x.ok)) lines.push(`    ${st.op}\n${(st.diff ?? '').replace(/^/gm, '      ')}`);
      for (const c of s.crashes) lines.push(`    kernel: ${c.title} (console line ${c.line})`);
    }
    for (const c of r.crashes) lines.push(`  kernel: ${c.title} (console line ${c.line})\n${c.excerpt.replace(/^/gm, '      ')}`);
    if (r.error) lines.push(`  error: ${r.error.replace(/\n/g, '\n  ')}`);
  }
  for (const s of skipped) lines.push(`  skipped ${s.name}: ${skipReason(s)}`);
  const p = r.phasesMs;
  lines.push(`vm-test: time: build ${p.build ?? '-'} ms, initramfs ${p.initramfs ?? '-'} ms, boot ${p.boot ?? '-'} ms, scenarios ${p.scenarios ?? '-'} ms, total ${p.total ?? '-'} ms`);
  // A run stopped before boot has no console to point at.
  if (r.accel || r.target) lines.push(`vm-test: console log: ${r.files.console}`);
  lines.push(`vm-test: report:      ${r.files.report}`);
  return `${lines.join('\n')}\n`;
}

/** The matrix's last words: a line per cell, the failing cells' own summaries, where everything is. */
export function matrixSummary(m: MatrixReport): string {
  const lines: string[] = [''];
  for (const c of m.cells) lines.push(`vm-test: ${c.ok ? 'PASS' : 'FAIL'} ${c.label}`);
  for (const c of m.cells.filter((x) => !x.ok)) lines.push(`\n[${c.label}]${c.summary.trimEnd()}`);
  const passed = m.cells.filter((c) => c.ok).length;
  lines.push('', `vm-test: ${passed === m.cells.length && m.ok ? 'PASS' : 'FAIL'}: ${passed}/${m.cells.length} runs matched the model (seed ${m.seed}), ${(m.totalMs / 1000).toFixed(1)} s`);
  lines.push(`vm-test: runs kept in ${m.dir}/<run>/ (console.log, report.json, tap.txt)`);
  lines.push(`vm-test: report:      ${m.report}`);
  return `${lines.join('\n')}\n`;
}
