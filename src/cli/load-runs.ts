/**
 * Reads what a finished run left, for comparison: a run directory or its
 * report.json, of one run, a matrix (each cell's report) or `make mutants`
 * (each kernel's run). Thin I/O.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import type { LabelledRun } from '../report/compare.js';
import type { RunReport } from '../report/report.js';
import type { BenchReport } from '../bench/report.js';

async function json(file: string, what: string): Promise<unknown> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) throw new HarnessError(`${what}: cannot read ${file}`, 'pass a run directory (out/runs/<time>-<pid>) or its report.json');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new HarnessError(`${what}: ${file} is not JSON (${(e as Error).message})`, 'pass the report.json a run wrote');
  }
}

/** Reports of older versions carry no label: name the run by what it ran on. */
function labelOf(r: RunReport): string {
  return r.label ?? `${r.variant ?? 'kernel'}-smp${r.topology?.online.length ?? 0}-possible${r.topology?.possible.length ?? 0}`;
}

export async function loadRuns(given: string): Promise<LabelledRun[]> {
  const isDir = await stat(given).then((s) => s.isDirectory(), () => false);
  const file = isDir ? path.join(given, 'report.json') : given;
  const doc = (await json(file, given)) as Record<string, unknown>;
  if (Array.isArray(doc.cells)) {
    const cells = doc.cells as { label: string; report: string }[];
    return Promise.all(cells.map(async (c) => ({ label: c.label, report: (await json(c.report, `${given}: run ${c.label}`)) as RunReport })));
  }
  if (Array.isArray(doc.outcomes)) {
    const outcomes = (doc.outcomes as { name: string; kernel: string; report: string | null }[]).filter((o) => o.report !== null);
    return Promise.all(
      outcomes.map(async (o) => {
        const report = (await json(o.report as string, `${given}: ${o.kernel}/${o.name}`)) as RunReport;
        return { label: report.label ?? `${o.kernel}-${o.name}`, report };
      }),
    );
  }
  if (Array.isArray(doc.scenarios)) {
    const r = doc as unknown as RunReport;
    return [{ label: labelOf(r), report: r }];
  }
  throw new HarnessError(`${given}: not a report of vm-test or make mutants`, 'pass a run directory (out/runs/<time>-<pid>) or its report.json');
}

/** A benchmark's report (its directory or bench.json), or null when `given` is something else (a vm-test or mutants run). */
export async function loadBench(given: string): Promise<BenchReport | null> {
  const isDir = await stat(given).then((s) => s.isDirectory(), () => false);
  if (isDir && !(await stat(path.join(given, 'bench.json')).then(() => true, () => false))) return null;
  const file = isDir ? path.join(given, 'bench.json') : given;
  const doc = (await json(file, given)) as Record<string, unknown>;
  return Array.isArray(doc.kernels) && Array.isArray(doc.comparisons) ? (doc as unknown as BenchReport) : null;
}
