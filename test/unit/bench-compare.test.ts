/** make compare on two benchmark runs: saved real bench.json files of this machine. */
import t from 'tap';
import type { BenchReport } from '../../src/bench/report.js';
import { benchComparisonTable, compareBench } from '../../src/bench/compare.js';
import { compareSpreads } from '../../src/bench/stats.js';
import { fixture } from '../fixtures.js';

const load = (name: string): BenchReport => JSON.parse(fixture(`bench/${name}.json`)) as BenchReport;
const variants = load('bench-variants-tcg-smp2');
const control = load('bench-patch-control-tcg-smp2');

t.test('kernels paired by name, every point judged by its ranges', async (t) => {
  const c = compareBench(variants, control);
  t.same(c.onlyA, ['refcount'], 'a kernel only A measured: gone');
  t.same(c.onlyB, ['pcpu+patch'], 'only B: new');
  t.equal(c.changes.length, 8, 'pcpu: 4 modes x 2 CPU counts; no flood: lo in A, dummy0 in B cost differently per packet');
  for (const x of c.changes) {
    const v = compareSpreads(x.b, x.a);
    t.equal(x.verdict, v === 'overlap' ? 'same' : v === 'higher' ? 'faster' : 'slower', `${x.point}: pairs/s, higher is faster`);
    t.equal(x.ratio, x.b.median / x.a.median);
  }
  const two = c.changes.find((x) => x.point === 'dev_hold, 2 CPUs');
  t.equal(two?.verdict, 'faster', 'the same pcpu kernel, run again with 100 ms runs instead of 250: 108 -> 201 M pairs/s, ranges apart');
  t.same(c.differences, ['msec: 250 vs 100'], 'and the table says the runs were measured differently');
  const table = benchComparisonTable(c);
  t.match(table, /^\| pcpu \| dev_hold, 2 CPUs \| 108\.2 \[61\.9-140\.2\] M pairs\/s \| 201\.2 \[196\.9-206\.2\] M pairs\/s \| 1\.86x \| \*\*faster\*\* \(real: ranges apart\) \|$/m);
  t.match(table, /measured differently \(each can move the numbers by itself\): msec: 250 vs 100/);
  t.match(table, /0 slower, 3 faster, 5 the same, of 8 points/);
});

t.test('a run against itself: nothing changed; a real slowdown is counted, on the flood too (lower is faster there)', async (t) => {
  const same = compareBench(control, control);
  t.equal(same.changes.length, 2 * 8 + 2 * 2, 'two kernels, 8 points and 2 flood points each');
  t.ok(same.changes.every((x) => x.verdict === 'same' && x.ratio === 1));
  t.same(same.differences, []);
  const slow: BenchReport = structuredClone(control);
  for (const k of slow.kernels) {
    for (const p of k.points) for (const f of ['median', 'min', 'max'] as const) p.pairsPerSec[f] /= 10;
    for (const p of k.flood?.points ?? []) for (const f of ['median', 'min', 'max'] as const) p.sysUsPerPacket[f] *= 10;
  }
  const c = compareBench(control, slow);
  t.equal(c.slower, c.changes.length, 'every point ten times slower: all slower');
  t.ok(c.changes.filter((x) => x.metric === 'sys us/packet').every((x) => x.verdict === 'slower' && x.ratio > 9), 'more system time per packet is slower');
});

t.test('one kernel each: paired whatever their names', async (t) => {
  const stock = load('bench-stock-tcg-smp2');
  const one: BenchReport = { ...control, kernels: [control.kernels[0] as BenchReport['kernels'][number]] };
  const c = compareBench(stock, one);
  t.same([c.onlyA, c.onlyB], [[], []]);
  t.equal(c.changes[0]?.kernel, '6.1.0-57-amd64 (pcpu) / pcpu');
  t.equal(c.changes.filter((x) => x.metric === 'sys us/packet').length, 2, 'both flooded dummy0: the flood compares');
});
