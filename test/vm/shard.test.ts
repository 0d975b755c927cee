/**
 * --shard K/N and make merge: a matrix run as two shards (two CI jobs),
 * merged, gives the same runs and the same verdicts as the matrix run
 * whole; a merge with a shard missing is refused. With --fault hold-twice,
 * so the verdicts compared include failures, not only passes.
 */
import t from 'tap';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { RunReport } from '../../src/report/report.js';
import type { MatrixReport } from '../../src/report/matrix-report.js';
import { repoRoot } from '../fixtures.js';
import { matrixReportOf, OUT, strayQemus, vmTest } from '../vm-harness.js';

const MATRIX = ['--kernels', 'stock', '--topology', '1:1,2:3,3:4', '--scenario', 'lifecycle', '--scenario', 'hold-put-every-cpu', '--fault', 'hold-twice', '--seed', '7'];

async function verdicts(m: MatrixReport): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of m.cells) {
    const r = JSON.parse(await readFile(c.report, 'utf8')) as RunReport;
    for (const s of r.scenarios) out[`${c.label} ${s.name}`] = s.status;
  }
  return out;
}

t.test('two shards merged: the same runs and verdicts as the whole matrix', async (t) => {
  const whole = await vmTest(MATRIX);
  t.equal(whole.exitCode, 1, `the whole matrix fails (the fault)\n${whole.stderr.slice(-3000)}`);
  const wm = await matrixReportOf(whole.stderr);
  t.same(wm.cells.map((c) => c.label).sort(), ['stock-smp1-possible1', 'stock-smp2-possible3', 'stock-smp3-possible4']);
  const s1 = await vmTest([...MATRIX, '--shard', '1/2']);
  const s2 = await vmTest([...MATRIX, '--shard', '2/2']);
  t.match(s1.stderr, /shard 1\/2 of 3 runs: 2 runs \(stock-smp1-possible1, stock-smp3-possible4\)/, 'every second run from the first');
  t.match(s2.stderr, /shard 2\/2 of 3 runs: 1 runs \(stock-smp2-possible3\)/);
  const [m1, m2] = await Promise.all([matrixReportOf(s1.stderr), matrixReportOf(s2.stderr)]);
  const junit = path.join(OUT, 'merged.junit.xml');
  const kcidb = path.join(OUT, 'merged.kcidb.json');
  const merge = await execa('node', [path.join(repoRoot, 'dist/harness/merge.js'), '--out', OUT, '--junit', junit, '--kcidb', kcidb, m2.dir, m1.dir], { reject: false, all: true, timeout: 60_000 });
  t.equal(merge.exitCode, 1, `the merge's status is the worst run's\n${merge.all}`);
  const merged = await matrixReportOf(merge.stderr);
  t.same(merged.cells.map((c) => c.label), wm.planned, 'every run of the matrix, in its order');
  t.same(await verdicts(merged), await verdicts(wm), 'the same verdict for every run and scenario');
  t.equal(Object.values(await verdicts(merged)).filter((v) => v === 'fail').length, 3, 'hold-put-every-cpu fails on each topology');
  t.equal((await readFile(junit, 'utf8')).match(/<testsuite /g)?.length, 3, 'one JUnit testsuite per run');
  t.equal((JSON.parse(await readFile(kcidb, 'utf8')) as { tests: unknown[] }).tests.length > 6, true, 'KCIDB tests of every run');

  const partial = await execa('node', [path.join(repoRoot, 'dist/harness/merge.js'), '--out', OUT, m1.dir], { reject: false, all: true });
  t.equal(partial.exitCode, 2);
  t.match(partial.stderr, /merge: shard\(s\) 2\/2 missing/, 'a missing shard is refused, not merged into a smaller matrix');
  t.same(await strayQemus(), []);
});
