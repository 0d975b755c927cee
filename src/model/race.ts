/**
 * What a reader racing a holder and a putter may see (kmod/stress.c race).
 * Pure.
 *
 * The holder takes `ops` references on CPU h, never more than `window`
 * ahead of the putter, which drops them on CPU p. The true count therefore
 * stays in [base, base + window + 2] (+2: one hold done but not yet
 * announced, one put announced but not yet done).
 *
 * netdev_refcnt_read() on a per-CPU kernel reads CPU h's counter and CPU p's
 * at different moments, so it can combine any number of holds with any
 * number of puts: every reading lies in [base - ops, base + ops], and no
 * narrower bound holds. On a refcount_t kernel the reading is one atomic
 * load: it lies in the true range.
 */
import type { Variant } from './types.js';

export interface Range {
  lo: number;
  hi: number;
}

export function trueRange(base: number, window: number): Range {
  return { lo: base, hi: base + window + 2 };
}

export function readingEnvelope(variant: Variant, base: number, ops: number, window: number): Range {
  return variant === 'pcpu' ? { lo: base - ops, hi: base + ops } : trueRange(base, window);
}

export function within(r: Range, lo: number, hi: number): boolean {
  return lo >= r.lo && hi <= r.hi;
}
