/**
 * `make merge`: the shards of one vm-test matrix (--shard 1/N .. N/N, run
 * by N CI jobs) joined into one report, with one JUnit and one KCIDB file,
 * as if one machine had run it all. Thin I/O around checkShards.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import { EXIT } from '../report/summary.js';
import { worstExit, type MatrixReport } from './matrix.js';
import { runStamp } from './run-dir.js';
import { checkShards } from './shard.js';

async function loadMatrix(raw: string): Promise<MatrixReport> {
  // "runs kept in DIR/<run>/" copied whole from a shard's output is DIR.
  const given = raw.replace(/\/<run>\/?$/, '');
  const file = given.endsWith('.json') ? given : path.join(given, 'report.json');
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) throw new HarnessError(`${given}: cannot read ${file}`, 'pass the run directory each shard printed ("runs kept in DIR")');
  const doc = JSON.parse(text) as MatrixReport;
  if (!Array.isArray(doc.cells)) throw new HarnessError(`${given} is not a vm-test matrix report`, 'pass the directories of vm-test --shard K/N runs');
  return doc;
}

export async function mergeShards(dirs: readonly string[], outDir: string): Promise<{ report: MatrixReport; exit: number }> {
  const parts = await Promise.all(dirs.map(loadMatrix));
  const planned = checkShards(parts.map((p, i) => ({ shard: p.shard ?? null, planned: p.planned ?? [], ran: p.cells.map((c) => c.label), fingerprint: p.fingerprint, where: dirs[i] as string })));
  // A shard's directory may have moved (a CI artifact downloaded elsewhere): its runs are found beside its report.
  for (const [i, p] of parts.entries()) {
    const dir = (dirs[i] as string).replace(/\/<run>\/?$/, '');
    const base = dir.endsWith('.json') ? path.dirname(dir) : dir;
    for (const c of p.cells) {
      if (existsSync(c.report)) continue;
      const moved = path.resolve(base, c.label, 'report.json');
      if (!existsSync(moved)) throw new HarnessError(`${dirs[i]}: run ${c.label} has no report at ${c.report} nor at ${moved}`, 'pass the shard directories whole, with their run directories');
      Object.assign(c, { report: moved, console: path.join(path.dirname(moved), 'console.log') });
    }
  }
  const cells = planned.map((label) => parts.flatMap((p) => p.cells).find((c) => c.label === label)).filter((c) => c !== undefined);
  const dir = path.resolve(outDir, 'runs', `${runStamp(new Date(), process.pid)}-merged`);
  await mkdir(dir, { recursive: true });
  const seeds = [...new Set(parts.map((p) => p.seed))];
  const report: MatrixReport = {
    tool: 'pcpu-refcnt-harness vm-test (matrix, merged from shards)',
    shard: null,
    planned,
    ...(parts[0]?.fingerprint ? { fingerprint: parts[0].fingerprint } : {}),
    startedAt: parts.map((p) => p.startedAt).sort()[0] ?? new Date().toISOString(),
    ok: cells.length === planned.length && cells.every((c) => c.ok),
    seed: seeds[0] ?? 0,
    dir,
    report: path.join(dir, 'report.json'),
    cells,
    // The shards ran side by side: the longest is the wall time.
    totalMs: Math.max(0, ...parts.map((p) => p.totalMs)),
  };
  await writeFile(report.report, `${JSON.stringify({ ...report, mergedFrom: dirs.map((d) => path.resolve(d)), seeds }, null, 2)}\n`);
  return { report, exit: cells.length ? worstExit(cells.map((c) => c.exit)) : EXIT.ok };
}

