#!/usr/bin/env node
/** `make merge`: the shards of a matrix joined. Wiring only; the work is in src/run/merge.ts. */
import path from 'node:path';
import { HarnessError } from '../src/errors.js';
import { matrixSummary } from '../src/report/summary.js';
import { finishedRun, writeCiFiles } from '../src/run/ci-files.js';
import { loadShard, mergeMutants, mergeShards } from '../src/run/merge.js';
import { mutantsResult } from '../src/report/mutant-table.js';
import { SCENARIOS } from '../src/run/vm-test.js';
import { answerVersion } from '../src/cli/version.js';
import { parseCommandLine } from '../src/cli/options.js';
import { artifactsUrl, kcidbOrigin } from '../src/cli/vm-test-args.js';

const HELP = `Usage: merge [options] DIR...      (make merge ARGS="DIR...")

Joins the runs of vm-test --shard 1/N ... N/N (N CI jobs, each a share of
the kernels x topologies matrix) into one matrix report, as if one machine
had run it all: every shard must be there, once, from the same matrix.
The merged report.json goes to OUT/runs/<time>-<pid>-merged/; make compare
and --baseline read it like any matrix.

The shards of make mutants --shard K/N (same --seed) join the same way, into
one mutant table (and OUT/mutants/<time>-<pid>-merged/report.json), with
make mutants' verdict and exit status.

  --out DIR     where the merged report goes (default ./out)
  --junit FILE  also write JUnit XML of every run
  --kcidb FILE  also write KCIDB JSON of every run
  --kcidb-origin NAME  KCIDB's origin, [a-z0-9_]+ (default refprobe)
  --artifacts-url URL  the URL your CI publishes this directory under: the
                KCIDB logs' URLs are URL/<the shard's run dir>/console.log
  --version     the harness's version and commit
  -h, --help    this text

Exit status: the worst run's, as vm-test's: 0 all matched, 1 a reading
differed, 3 a kernel complained or a guest died, 2 bad usage or a shard
missing, 130 a shard was interrupted.
`;

async function main(): Promise<number> {
  if (await answerVersion('merge')) return 0;
  const parsed = parseCommandLine('merge', { allowPositionals: true, options: { out: { type: 'string' }, junit: { type: 'string' }, kcidb: { type: 'string' }, 'kcidb-origin': { type: 'string' }, 'artifacts-url': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  const { values: v, positionals } = parsed;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new HarnessError('no shard runs given', 'pass the run directory of every shard (see --help)');
  if ('mutants' in (await loadShard(positionals[0] as string))) {
    if (v.junit || v.kcidb) throw new HarnessError('--junit/--kcidb with make mutants shards', 'JUnit and KCIDB files are written for vm-test runs; drop them');
    const { report, dir } = await mergeMutants(positionals, v.out ?? 'out');
    const out = mutantsResult(report.outcomes, report.ok, { failFast: report.failFast === true, scenarios: SCENARIOS.map((s) => s.name), seed: report.seed ?? '?', where: `the shards' directories (${positionals.join(', ')}); merged report ${path.join(dir, 'report.json')}`, tool: 'merge' });
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    return out.exit;
  }
  const { report, exit } = await mergeShards(positionals, v.out ?? 'out');
  const runs = await Promise.all(report.cells.map((c) => finishedRun(c.label, c.report)));
  const names = new Set(runs.flatMap((r) => r.report.planned ?? r.report.scenarios.map((s) => s.name)));
  const progress = (l: string): boolean => process.stderr.write(`merge: ${l}\n`);
  const ci = { junit: v.junit ?? null, kcidb: v.kcidb ?? null, kcidbOrigin: kcidbOrigin(v['kcidb-origin']), artifactsUrl: artifactsUrl(v['artifacts-url']), outDir: process.cwd() };
  await writeCiFiles(ci, runs, SCENARIOS.filter((s) => names.has(s.name)), path.basename(report.dir), progress);
  // The runs stay where the shards left them: the merged directory holds only the joined report.
  const text = matrixSummary(report)
    .replaceAll('vm-test:', 'merge:')
    .replace(/^merge: runs kept in .*$/m, `merge: runs kept in the shards' directories: ${positionals.map((d) => d.replace(/\/<run>\/?$/, '')).join(', ')}`);
  process.stderr.write(text);
  return exit;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(e instanceof HarnessError ? `merge: ${e.message}\n` : `merge: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
