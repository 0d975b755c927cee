import t from 'tap';
import type { RunReport } from '../../src/report/report.js';
import { changeOf, compareRuns, strictNote, unfinished, comparisonTable, type LabelledRun } from '../../src/report/compare.js';
import { fixture } from '../fixtures.js';

const run = (dir: string, label: string): LabelledRun => ({ label, report: JSON.parse(fixture(`runs/${dir}/report.json`)) as RunReport });
const good = run('refcount-unpatched-smp3-possible4', 'refcount-smp3-possible4');
const bad = run('refcount-hold-lost-update-smp3-possible4', 'refcount-smp3-possible4');

t.test('what a change of verdict means', async (t) => {
  t.equal(changeOf('pass', 'fail'), 'regressed');
  t.equal(changeOf('skip', 'crash'), 'regressed', 'a check that now runs and fails');
  t.equal(changeOf('fail', 'pass'), 'fixed');
  t.equal(changeOf('fail', 'crash'), 'changed', 'still bad, another way');
  t.equal(changeOf('pass', 'skip'), 'changed', 'a pass that became a skip is no pass, but no regression');
  t.equal(changeOf('pass', 'not-run'), 'changed');
  t.equal(changeOf('pass', 'pass'), 'unchanged');
  t.equal(changeOf(null, 'pass'), 'new');
  t.equal(changeOf(null, 'fail'), 'regressed', 'a new failure has nothing to be tolerated against');
  t.equal(changeOf('pass', null), 'gone');
});

t.test('a kernel against its mutant, from saved runs: the regression named, what never ran not called gone', async (t) => {
  const c = compareRuns([good], [bad]);
  t.equal(c.matchedBy, 'label');
  t.same(c.rows.filter((r) => r.change === 'regressed').map((r) => r.scenario), ['racing-reader', 'run-level'], 'and the guest that stopped answering');
  t.match(c.rows.find((r) => r.scenario === 'racing-reader')?.detail, /the kernel complained: unregister_netdevice: waiting for rprace0/);
  t.equal(c.rows.find((r) => r.scenario === 'stress')?.b, 'not-run', 'the run stopped before it: not-run');
  t.same(c.counts, { regressed: 2, fixed: 0, changed: 15, new: 0, gone: 0, unchanged: 4 });
  const table = comparisonTable(c);
  t.match(table, /^\| refcount-smp3-possible4 \| racing-reader \| pass \| crash \| \*\*regressed\*\* \|/m);
  t.notMatch(table, /\| lifecycle \|/, 'unchanged rows only with --all');
  t.match(comparisonTable(c, true), /\| lifecycle \| pass \| pass \| unchanged \|/);
  t.match(table, /^\| refcount-smp3-possible4 \| stress \.\. unload-releases \(15\) \| pass(\/skip)? \| not-run \| not run \| the run stopped before it: /m, 'what a stopped run never reached: one row');
  t.equal(table.split('\n').filter((l) => /not-run/.test(l)).length, 1);
  t.match(comparisonTable(c, true, { a: 'pcpu', b: 'pcpu+patch' }), /^\| run \| scenario \| pcpu \| pcpu\+patch \| change \| pcpu\+patch, where it is not a pass \|$/m, 'the sides named');
  const subset: LabelledRun = { ...good, report: { ...good.report, planned: ['lifecycle', 'extremes'], scenarios: good.report.scenarios.filter((x) => ['lifecycle', 'extremes'].includes(x.name)) } };
  t.same(compareRuns([bad], [subset], true).counts, { regressed: 0, fixed: 1, changed: 0, new: 0, gone: 0, unchanged: 2 }, 'only what B ran (--baseline), and the run itself');
  t.same(compareRuns([bad], [good]).rows.filter((r) => r.change === 'fixed').map((r) => r.scenario), ['racing-reader', 'run-level'], 'the other way round: fixed');
});

t.test('--strict: a run cut short is no pass, even with nothing regressed', async (t) => {
  // B: the good run, stopped after its first three scenarios (the rest never reached), nothing failed.
  const cut: LabelledRun = { ...good, report: { ...good.report, ok: false, error: 'interrupted', errorKind: 'interrupted', scenarios: good.report.scenarios.slice(0, 3) } };
  const c = compareRuns([good], [cut]);
  t.equal(c.counts.regressed, 0, 'not-run is not a regression: plain compare exits 0');
  t.ok(unfinished(c).length >= 10, 'the scenarios B never reached');
  t.match(strictNote(c), /^\d+ scenario\(s\) passed in A and were not judged in B \(errored, never reached or missing\); first: /);
  t.equal(strictNote(compareRuns([good], [good])), null, 'a finished run against itself: nothing');
  t.equal(strictNote(compareRuns([bad], [good])), null, 'what failed or never ran in A is not held against B');
});

t.test('two kernels: runs paired by topology when no label is shared', async (t) => {
  const c = compareRuns([{ ...good, label: 'pcpu-smp3-possible4' }], [{ ...bad, label: 'mutant-smp3-possible4' }]);
  t.equal(c.matchedBy, 'topology');
  t.equal(c.rows[0]?.run, 'pcpu-smp3-possible4 / mutant-smp3-possible4');
  t.equal(c.counts.regressed, 2);
  const apart = compareRuns([{ ...good, label: 'pcpu-smp2-possible4' }], [{ ...bad, label: 'pcpu-smp3-possible4' }]);
  t.same([apart.counts.gone, apart.counts.new, apart.counts.regressed], [21, 4, 2], 'different topologies are different runs: a failure with nothing to compare with is a regression');
  // Two kernels on one topology against one: no pairing by topology, or one of them would go unexamined.
  const two = compareRuns([{ ...good, label: 'stock-smp3-possible4' }], [{ ...good, label: 'pcpu-smp3-possible4' }, { ...bad, label: 'refcount-smp3-possible4' }]);
  t.equal(two.matchedBy, 'label');
  t.same(two.rows.filter((r) => r.change === 'regressed').map((r) => `${r.run} ${r.scenario}`), ['refcount-smp3-possible4 racing-reader', 'refcount-smp3-possible4 run-level']);
});

t.test('shards: every Nth cell from the Kth, the N shards cover the matrix once; a merge refuses parts that do not belong together', async (t) => {
  const { parseShard, shardOf, checkShards } = await import('../../src/run/shard.js');
  const cells = ['a', 'b', 'c', 'd', 'e'];
  t.same(parseShard('2/3'), { k: 2, n: 3 });
  t.equal(parseShard(undefined), null);
  for (const bad of ['0/2', '3/2', '1/0', '1', 'x/y', '1/65']) t.throws(() => parseShard(bad), /is not K\/N with 1 <= K <= N <= 64/, bad);
  const parts = [1, 2, 3].map((k) => shardOf(cells, { k, n: 3 }));
  t.same(parts, [['a', 'd'], ['b', 'e'], ['c']]);
  t.same(parts.flat().sort(), cells, 'each cell exactly once');
  t.same(shardOf(cells, { k: 7, n: 9 }), [], 'more shards than cells: an empty one');
  const part = (k: number, n = 3, ran = shardOf(cells, { k, n })) => ({ shard: { k, n }, planned: cells, ran, where: `shard${k}` });
  t.same(checkShards([part(2), part(1), part(3)]), cells, 'in any order');
  t.throws(() => checkShards([part(1), part(2)]), /shard\(s\) 3\/3 missing/);
  t.throws(() => checkShards([part(1), part(1), part(2)]), /shard 1\/3 is given twice/);
  t.throws(() => checkShards([part(1), part(2, 2)]), /shard2 is shard 2\/2, shard1 is of 3/);
  t.throws(() => checkShards([part(1), part(2), part(3, 3, [])]), /the shards did not run c/);
  t.throws(() => checkShards([{ ...part(1), shard: null }]), /not a shard/);
  t.throws(() => checkShards([part(1), { ...part(2), planned: ['x'] }, part(3)]), /shards of different matrices/);
  t.throws(() => checkShards([part(1), { ...part(2), fingerprint: 'other seed' }, part(3)]), /shard2 and shard1 ran with different options/);
});
