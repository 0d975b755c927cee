/**
 * Repeats into a spread (median, min, max), and the one verdict the issue
 * allows: a difference is real only when the two ranges do not overlap.
 * Pure.
 */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  return { median, min: v[0] as number, max: v[v.length - 1] as number, n: v.length };
}

/** 'higher': a's whole range is above b's; 'lower': below; 'overlap': not a real difference. */
export type Verdict = 'higher' | 'lower' | 'overlap';

export function compareSpreads(a: Spread, b: Spread): Verdict {
  if (a.min > b.max) return 'higher';
  if (a.max < b.min) return 'lower';
  return 'overlap';
}
