/**
 * `make merge`: the shards of one vm-test matrix (--shard 1/N .. N/N, run
 * by N CI jobs) joined into one report, with one JUnit and one KCIDB file,
 * as if one machine had run it all; or the shards of one make mutants run,
 * joined into one mutant table. Thin I/O around checkShards and the pure
 * mergeMutantShards.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import { EXIT } from '../exit-status.js';
import { worstExit } from '../exit-status.js';
import type { MatrixReport } from '../report/matrix-report.js';
import { runStamp } from './run-dir.js';
import { checkShards } from './shard.js';
import { VARIANT_NAMES } from '../kernel/variants.js';
import { mutantsOk, type MutantOutcome, type MutantsReport } from '../report/mutants-report.js';
import { mutantKey } from '../kernel/mutant.js';

/** A shard's report.json: a vm-test matrix's or a make mutants run's. */
export async function loadShard(raw: string): Promise<{ matrix: MatrixReport } | { mutants: MutantsReport }> {
  // "runs kept in DIR/<run>/" copied whole from a shard's output is DIR.
  const given = raw.replace(/\/<run>\/?$/, '');
  const file = given.endsWith('.json') ? given : path.join(given, 'report.json');
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) throw new HarnessError(`${given}: cannot read ${file}`, 'pass the run directory each shard printed ("runs kept in DIR")');
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new HarnessError(`${given}: ${file} is not JSON (${(e as Error).message})`, 'pass the report.json a shard wrote');
  }
  if (Array.isArray(doc.cells)) return { matrix: doc as unknown as MatrixReport };
  if (Array.isArray(doc.outcomes)) return { mutants: doc as unknown as MutantsReport };
  throw new HarnessError(`${given} is neither a vm-test matrix nor a make mutants report`, 'pass the directories of vm-test --shard K/N or make mutants --shard K/N runs');
}

async function loadMatrix(raw: string): Promise<MatrixReport> {
  const doc = await loadShard(raw);
  if (!('matrix' in doc)) throw new HarnessError(`${raw} is a make mutants run, not a vm-test matrix`, 'merge the shards of one kind of run');
  return doc.matrix;
}

/**
 * The shards of one make mutants run as one report: each planned mutant's
 * outcome once, in the planned order, grouped by variant after the
 * unpatched runs of that variant (every shard checks the unpatched kernels
 * of its own mutants, so there may be several). Pure.
 */
export function mergeMutantShards(parts: readonly { where: string; report: MutantsReport }[]): MutantsReport {
  const planned = checkShards(
    parts.map((p) => ({
      shard: p.report.shard,
      planned: p.report.planned,
      ran: p.report.outcomes.filter((o) => o.name !== 'unpatched').map(mutantKey),
      fingerprint: p.report.fingerprint,
      where: p.where,
    })),
  );
  const all = parts.flatMap((p) => p.report.outcomes);
  const outcomes: MutantOutcome[] = [];
  for (const v of VARIANT_NAMES) {
    const mine = planned.map((k) => all.find((o) => mutantKey(o) === k && o.kernel === v)).filter((o) => o !== undefined);
    outcomes.push(...all.filter((o) => o.kernel === v && o.name === 'unpatched'), ...mine);
  }
  const first = parts[0]?.report;
  return {
    ok: mutantsOk(outcomes, planned),
    shard: null,
    planned,
    ...(first?.fingerprint ? { fingerprint: first.fingerprint } : {}),
    ...(first?.seed !== undefined ? { seed: first.seed } : {}),
    ...(first?.failFast !== undefined ? { failFast: first.failFast } : {}),
    outcomes,
  };
}

export async function mergeMutants(dirs: readonly string[], outDir: string): Promise<{ report: MutantsReport; dir: string }> {
  const parts = await Promise.all(
    dirs.map(async (where) => {
      const doc = await loadShard(where);
      if (!('mutants' in doc)) throw new HarnessError(`${where} is a vm-test matrix, not a make mutants run`, 'merge the shards of one kind of run');
      return { where, report: doc.mutants };
    }),
  );
  const report = mergeMutantShards(parts);
  const dir = path.resolve(outDir, 'mutants', `${runStamp(new Date(), process.pid)}-merged`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify({ ...report, mergedFrom: dirs.map((d) => path.resolve(d)) }, null, 2)}\n`);
  return { report, dir };
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

