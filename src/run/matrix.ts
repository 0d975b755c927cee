/**
 * Several runs at once: kernels x topologies, each a full vm-test in its own
 * VM and its own directory, at most `jobs` VMs at a time (a TCG guest keeps
 * a host core busy per vCPU it runs, so more VMs than cores only queue).
 * The merged report lists every cell; the exit status is the worst cell's.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RunReport } from '../report/report.js';
import { exitCode } from '../report/summary.js';
import { EXIT, worstExit } from '../exit-status.js';
import { cellLabel, type Cell, type MatrixReport } from '../report/matrix-report.js';
import { runStamp } from './run-dir.js';
import { hashOf } from '../cache/cache.js';
import type { Shard } from './shard.js';
import { progressLine } from '../report/progress.js';
import { runVmTest, type RunContext, type RunRequest } from './vm-test.js';
import { qemuBackend, type QemuSettings } from '../backend/qemu/guest.js';
import { writeOutput } from './outputs.js';

/** What a matrix runs: every cell (a kernel on a topology) as a QEMU guest built alike, the same scenarios on each. */
export interface MatrixRequest extends Omit<RunRequest, 'backend' | 'label'> {
  cells: Cell[];
  guest: QemuSettings;
  /** With --shard: the share, and the whole matrix's cells (labels) it is part of. */
  shard?: Shard | null;
  planned?: string[];
  jobs: number;
}

/** A matrix's context: a run's, with each cell's TAP and summary handed back whole. */
export interface MatrixContext extends Omit<RunContext, 'tap' | 'runDir'> {
  /** One cell's TAP, whole, as it finishes. */
  tapCell: (label: string, tap: string, ok: boolean) => void;
  summarize: (r: RunReport) => string;
}

/** The matrix report, its exit status, and each cell's run report as it is in memory (its file may not have reached a full disk). */
export async function runMatrix(req: MatrixRequest, opts: MatrixContext): Promise<{ report: MatrixReport; exit: number; runs: Map<string, RunReport> }> {
  const t0 = performance.now();
  const dir = path.resolve(opts.outDir, 'runs', runStamp(new Date(), process.pid));
  await mkdir(dir, { recursive: true });
  const report: MatrixReport = {
    tool: 'pcpu-refcnt-harness vm-test (matrix)',
    shard: req.shard ?? null,
    planned: req.planned ?? req.cells.map(cellLabel),
    fingerprint: hashOf(JSON.stringify([req.scenarios.map((x) => x.name), req.moduleParams, req.guest.memoryMb, opts.seed, req.guest.machine, req.guest.boot, req.guest.accel, req.guest.presentAs, req.guest.singlestep])),
    startedAt: new Date().toISOString(),
    ok: false,
    seed: opts.seed,
    dir,
    report: path.join(dir, 'report.json'),
    cells: [],
    totalMs: 0,
  };
  const runs = new Map<string, RunReport>();
  const queue = [...req.cells];
  const worker = async (): Promise<void> => {
    for (let cell = queue.shift(); cell; cell = queue.shift()) {
      if (opts.signal?.aborted) return;
      const label = cellLabel(cell);
      const lines: string[] = [];
      const backend = qemuBackend(cell.spec, { smp: cell.smp, possibleCpus: cell.possibleCpus }, req.guest);
      const r = await runVmTest(
        { backend, scenarios: req.scenarios, moduleParams: req.moduleParams, label, ...(req.failFast ? { failFast: true } : {}) },
        { ...opts, runDir: path.join(dir, label), progress: (line) => opts.progress(`[${label}] ${line}`), tap: (text) => void lines.push(text) },
      );
      const exit = exitCode(r);
      opts.tapCell(label, lines.join('\n'), r.ok);
      report.cells.push({ label, cell, ok: r.ok, exit, report: r.files.report, console: r.files.console, summary: opts.summarize(r) });
      runs.set(label, r);
      opts.progress(`${label}: ${r.ok ? 'pass' : 'FAIL'}; runs ${progressLine(report.cells.length, req.cells.length, performance.now() - t0, new Date())}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(req.jobs, req.cells.length)) }, worker));
  report.ok = report.cells.length === req.cells.length && report.cells.every((c) => c.ok);
  report.totalMs = Math.round(performance.now() - t0);
  await writeOutput(report.report, `${JSON.stringify(report, null, 2)}\n`, opts.progress);
  const exit = opts.signal?.aborted ? EXIT.interrupted : worstExit(report.cells.map((c) => c.exit));
  return { report, exit, runs };
}
