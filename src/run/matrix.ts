/**
 * Several runs at once: kernels x topologies, each a full vm-test in its own
 * VM and its own directory, at most `jobs` VMs at a time (a TCG guest keeps
 * a host core busy per vCPU it runs, so more VMs than cores only queue).
 * The merged report lists every cell; the exit status is the worst cell's.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { KernelSpec } from '../kernel/select.js';
import type { RunReport } from '../report/report.js';
import { EXIT, exitCode } from '../report/summary.js';
import { runStamp } from './run-dir.js';
import { hashOf } from '../cache/cache.js';
import type { Shard } from './shard.js';
import { progressLine } from '../report/progress.js';
import { runVmTest, type VmTestOptions } from './vm-test.js';
import { writeOutput } from './outputs.js';

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

export interface MatrixOptions extends Omit<VmTestOptions, 'kernel' | 'kernelTree' | 'builtTree' | 'kdir' | 'smp' | 'possibleCpus' | 'tap' | 'runDir'> {
  cells: Cell[];
  /** With --shard: the share, and the whole matrix's cells (labels) it is part of. */
  shard?: Shard | null;
  planned?: string[];
  jobs: number;
  /** One cell's TAP, whole, as it finishes. */
  tapCell: (label: string, tap: string, ok: boolean) => void;
  summarize: (r: RunReport) => string;
}

/** The worst exit status wins: interrupted, then crash, then set-up, then mismatch. */
export function worstExit(codes: readonly number[]): number {
  for (const c of [EXIT.interrupted, EXIT.crash, EXIT.usage, EXIT.mismatch, EXIT.untestable]) if (codes.includes(c)) return c;
  return EXIT.ok;
}

/** The matrix report, its exit status, and each cell's run report as it is in memory (its file may not have reached a full disk). */
export async function runMatrix(opts: MatrixOptions): Promise<{ report: MatrixReport; exit: number; runs: Map<string, RunReport> }> {
  const t0 = performance.now();
  const dir = path.resolve(opts.outDir, 'runs', runStamp(new Date(), process.pid));
  await mkdir(dir, { recursive: true });
  const report: MatrixReport = {
    tool: 'pcpu-refcnt-harness vm-test (matrix)',
    shard: opts.shard ?? null,
    planned: opts.planned ?? opts.cells.map(cellLabel),
    fingerprint: hashOf(JSON.stringify([opts.scenarios.map((x) => x.name), opts.moduleParams, opts.memoryMb, opts.seed, opts.machine, opts.boot, opts.accel, opts.presentAs ?? 'auto'])),
    startedAt: new Date().toISOString(),
    ok: false,
    seed: opts.seed,
    dir,
    report: path.join(dir, 'report.json'),
    cells: [],
    totalMs: 0,
  };
  const runs = new Map<string, RunReport>();
  const queue = [...opts.cells];
  const worker = async (): Promise<void> => {
    for (let cell = queue.shift(); cell; cell = queue.shift()) {
      if (opts.signal?.aborted) return;
      const label = cellLabel(cell);
      const lines: string[] = [];
      const r = await runVmTest({
        ...opts,
        ...cell.spec,
        smp: cell.smp,
        possibleCpus: cell.possibleCpus,
        runDir: path.join(dir, label),
        label,
        progress: (line) => opts.progress(`[${label}] ${line}`),
        tap: (text) => void lines.push(text),
      });
      const exit = exitCode(r);
      opts.tapCell(label, lines.join('\n'), r.ok);
      report.cells.push({ label, cell, ok: r.ok, exit, report: r.files.report, console: r.files.console, summary: opts.summarize(r) });
      runs.set(label, r);
      opts.progress(`${label}: ${r.ok ? 'pass' : 'FAIL'}; runs ${progressLine(report.cells.length, opts.cells.length, performance.now() - t0, new Date())}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, opts.cells.length)) }, worker));
  report.ok = report.cells.length === opts.cells.length && report.cells.every((c) => c.ok);
  report.totalMs = Math.round(performance.now() - t0);
  await writeOutput(report.report, `${JSON.stringify(report, null, 2)}\n`, opts.progress);
  const exit = opts.signal?.aborted ? EXIT.interrupted : worstExit(report.cells.map((c) => c.exit));
  return { report, exit, runs };
}
