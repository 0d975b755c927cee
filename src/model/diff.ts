/**
 * Expected-vs-observed as a readable line diff (the `diff` package), the
 * way a kernel engineer reads a failing check. Pure.
 */
import { diffLines } from 'diff';

/** JSON with sorted keys, one field per line, so diffs line up field by field. */
export function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })))
        : v,
    2,
  );
}

/** "- expected" / "+ observed" lines; empty when they agree. */
export function readableDiff(expected: unknown, observed: unknown): string {
  const a = stableJson(expected);
  const b = stableJson(observed);
  if (a === b) return '';
  const out: string[] = ['--- expected (model)', '+++ observed (kernel)'];
  for (const part of diffLines(a, b)) {
    const mark = part.added ? '+' : part.removed ? '-' : ' ';
    for (const line of part.value.replace(/\n$/, '').split('\n')) out.push(`${mark} ${line}`);
  }
  return out.join('\n');
}
