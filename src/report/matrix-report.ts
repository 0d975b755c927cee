/** What a matrix run (kernels x topologies) writes: its cells and their verdicts. Pure types. */
import type { KernelSpec } from '../kernel/select.js';

/** --shard K/N: the Kth of N shares of a matrix (run/shard.ts). */
export interface Shard {
  k: number;
  n: number;
}

export interface Cell {
  /** Names the kernel in labels: stock, a variant, or a path's base name. */
  kernel: string;
  spec: KernelSpec;
  smp: number;
  possibleCpus: number;
}

export const cellLabel = (c: Cell): string => `${c.kernel}-smp${c.smp}-possible${c.possibleCpus}`;

export interface MatrixReport {
  tool: string;
  /** With --shard: which share of the matrix this run is. */
  shard?: Shard | null;
  /** Every cell of the whole matrix (all shards), in order. */
  planned?: string[];
  /** A hash of the options that decide the verdicts: shards merge only when theirs agree. */
  fingerprint?: string;
  startedAt: string;
  ok: boolean;
  seed: number;
  dir: string;
  report: string;
  cells: { label: string; cell: Cell; ok: boolean; exit: number; report: string; console: string; summary: string }[];
  totalMs: number;
}

