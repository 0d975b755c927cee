/**
 * A deterministic share of a matrix for one of N CI jobs (GitLab
 * `parallel:`, a GitHub Actions matrix): `--shard K/N` takes every Nth item
 * of the matrix in its own order, starting with the Kth, so the N shards
 * cover it exactly once whatever machine runs them. Merging checks the
 * shards belong together and none is missing. Pure.
 */
import { HarnessError } from '../errors.js';
import type { Shard } from '../report/matrix-report.js';

export type { Shard };

export function parseShard(raw: string | undefined): Shard | null {
  if (raw === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  const k = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || n < 1 || n > 64 || k < 1 || k > n) throw new HarnessError(`--shard ${raw} is not K/N with 1 <= K <= N <= 64`, 'pass --shard K/N, e.g. --shard 2/4 for the second of four jobs');
  return { k, n };
}

export function shardOf<T>(items: readonly T[], shard: Shard | null): T[] {
  return shard ? items.filter((_, i) => i % shard.n === shard.k - 1) : [...items];
}

export interface ShardedPart {
  shard: Shard | null;
  /** Every item's name in the whole (unsharded) matrix, in order. */
  planned: string[];
  /** The items this part ran. */
  ran: string[];
  /** The options that decide the verdicts (scenarios, fault, memory, seed...); parts must agree. */
  fingerprint?: string;
  where: string;
}

/**
 * Checks that the parts are the N shards of one matrix, each once, and
 * together ran all of it; returns the planned order.
 */
export function checkShards(parts: readonly ShardedPart[]): string[] {
  const first = parts[0];
  if (!first) throw new HarnessError('nothing to merge', 'pass the run directories of every shard');
  const n = first.shard?.n;
  for (const p of parts) {
    if (!p.shard) throw new HarnessError(`${p.where} is not a shard (it was run without --shard)`, 'merge only the runs of --shard 1/N ... N/N');
    if (p.shard.n !== n) throw new HarnessError(`${p.where} is shard ${p.shard.k}/${p.shard.n}, ${first.where} is of ${n}`, 'merge the shards of one split');
    if (p.planned.join(',') !== first.planned.join(',')) throw new HarnessError(`${p.where} and ${first.where} are shards of different matrices`, 'run every shard with the same options but --shard');
    if (p.fingerprint !== first.fingerprint) throw new HarnessError(`${p.where} and ${first.where} ran with different options (scenarios, --fault, --memory, --seed, machine)`, 'run every shard with the same options but --shard');
  }
  const ks = parts.map((p) => p.shard?.k ?? 0);
  const dup = ks.find((k, i) => ks.indexOf(k) !== i);
  if (dup !== undefined) throw new HarnessError(`shard ${dup}/${n} is given twice`, 'pass each shard once');
  const missing = Array.from({ length: n ?? 0 }, (_, i) => i + 1).filter((k) => !ks.includes(k));
  if (missing.length) throw new HarnessError(`shard(s) ${missing.map((k) => `${k}/${n}`).join(', ')} missing`, 'pass the run directories of every shard (a shard that failed to start must be run again)');
  const ran = new Set(parts.flatMap((p) => p.ran));
  const notRun = first.planned.filter((x) => !ran.has(x));
  if (notRun.length) throw new HarnessError(`the shards did not run ${notRun.join(', ')}`, 'run the shards that stopped early again');
  return first.planned;
}
