import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseBenchArgs } from '../../src/cli/bench-args.js';
import { benchChart, niceStep } from '../../src/bench/chart.js';
import { nsPerPair, pairsPerSec, parseBenchResult, parseFlood, rtCacheColumn, type BenchSample, type FloodSample } from '../../src/bench/parse.js';
import { comparisons, floorRatios, summarizeFlood, summarizePoints, type BenchReport, type KernelBench } from '../../src/bench/report.js';
import { compareSpreads, spread } from '../../src/bench/stats.js';
import { formatBenchTable } from '../../src/bench/table.js';
import { reportTiming } from '../../src/bench/floor.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/bench');
const fixture = (name: string): string => readFileSync(path.join(fixtures, name), 'utf8');

t.test('the module\'s result file, as a 2-CPU guest wrote it', async (t) => {
  const s = parseBenchResult(fixture('result-dev_hold-2cpus.txt'));
  t.equal(s.mode, 'dev_hold');
  t.equal(s.variant, 'pcpu');
  t.equal(s.cpus, 2);
  t.equal(s.msec, 250);
  t.same(s.perCpu[1], { cpu: 1, pairs: 15325184, ns: 247873900 });
  t.equal(s.pairs, 31088640);
  t.equal(s.refcnt, 1, 'every hold was put');
  // Each CPU's own rate, summed: 15763456/0.25033487 + 15325184/0.2478739.
  t.ok(Math.abs(pairsPerSec(s) - 124.79e6) < 0.05e6, `pairs/s ${pairsPerSec(s)}`);
  t.ok(Math.abs(nsPerPair(s) - 16.03) < 0.01, `ns/pair ${nsPerPair(s)}`);
  const a = parseBenchResult(fixture('result-atomic-1cpu.txt'));
  t.equal(a.mode, 'atomic');
  t.equal(a.perCpu.length, 1);
});

t.test('an empty or broken result file is an error, not zeros', async (t) => {
  t.throws(() => parseBenchResult(fixture('result-empty.txt')), /no "mode" line/);
  t.throws(() => parseBenchResult('mode spin\nvariant pcpu\ncpus 1\nmsec 1\npairs 1\nrefcnt 1\n'), /unknown mode "spin"/);
  const text = fixture('result-dev_hold-2cpus.txt');
  t.throws(() => parseBenchResult(text.replace(/^cpu 1 .*\n/m, '')), /1 cpu lines for cpus 2/);
  t.throws(() => parseBenchResult(text.replace('pairs 15325184', 'pairs 0')), /ran no pairs/);
  t.throws(() => parseBenchResult(text.replace('cpus 2', 'cpus two')), /expected a number/);
});

t.test('the flood line and rt_cache: one fresh route per packet', async (t) => {
  const f = parseFlood(fixture('flood-2x20000.txt'));
  t.same(f, { threads: 2, packets: 20000, wallNs: 1207926080, sysUs: 2205794, userUs: 40002, failed: false });
  const before = rtCacheColumn(fixture('rt_cache-before.txt'), 'out_slow_tot');
  const after = rtCacheColumn(fixture('rt_cache-after.txt'), 'out_slow_tot');
  t.equal(after - before, 40000, '2 x 20000 packets, 0x4e20 on each CPU');
  t.throws(() => rtCacheColumn(fixture('rt_cache-after.txt'), 'nope'), /no column "nope"/);
  t.throws(() => parseFlood('Segmentation fault'), /unexpected output/);
  const [p] = summarizeFlood([f], [after - before]);
  t.equal(p?.routesPerPacket.median, 1);
  t.ok(Math.abs((p?.sysUsPerPacket.median ?? 0) - 55.14) < 0.01);
});

t.test('spread and the overlap verdict', async (t) => {
  t.same(spread([5, 1, 3]), { median: 3, min: 1, max: 5, n: 3 });
  t.equal(spread([1, 2, 3, 10]).median, 2.5);
  t.throws(() => spread([]));
  t.equal(compareSpreads(spread([10, 11, 12]), spread([1, 2, 3])), 'higher');
  t.equal(compareSpreads(spread([1, 2, 3]), spread([10, 11])), 'lower');
  t.equal(compareSpreads(spread([1, 5]), spread([4, 9])), 'overlap', 'touching ranges are no real difference');
  t.equal(compareSpreads(spread([1, 4]), spread([4, 9])), 'overlap');
});

function sample(mode: BenchSample['mode'], cpus: number, pairsPerCpu: number): BenchSample {
  const perCpu = Array.from({ length: cpus }, (_, cpu) => ({ cpu, pairs: pairsPerCpu, ns: 1e9 }));
  return { mode, variant: 'pcpu', cpus, msec: 1000, perCpu, pairs: pairsPerCpu * cpus, refcnt: 1 };
}

function kernel(variant: string, samples: BenchSample[]): KernelBench {
  return {
    kernelArg: variant,
    release: '6.1.0-57-amd64',
    image: '/boot/vmlinuz',
    variant,
    accel: { accel: 'tcg', reason: 'test' },
    target: 'qemu tcg pc smp=2',
    onlineCpus: [0, 1],
    msec: 1000,
    runs: 2,
    points: summarizePoints(samples),
    flood: null,
    floodSkipped: '--skip-flood',
    consoleLog: 'c.log',
    balanced: true,
  };
}

const pcpu = kernel('pcpu', [
  sample('dev_hold', 1, 100e6), sample('dev_hold', 1, 110e6), sample('dev_hold', 2, 100e6), sample('dev_hold', 2, 105e6),
  sample('atomic', 1, 40e6), sample('atomic', 1, 42e6), sample('atomic', 2, 10e6), sample('atomic', 2, 12e6),
  sample('refcount', 1, 100e6), sample('refcount', 1, 120e6),
]);
const refc = kernel('refcount', [sample('dev_hold', 1, 38e6), sample('dev_hold', 1, 41e6), sample('dev_hold', 2, 11e6), sample('dev_hold', 2, 13e6)]);

t.test('points and comparisons', async (t) => {
  const dh2 = pcpu.points.find((p) => p.mode === 'dev_hold' && p.cpus === 2);
  t.same(dh2?.pairsPerSec, { median: 205e6, min: 200e6, max: 210e6, n: 2 }, 'two CPUs: rates add up');
  t.same(dh2?.nsPerPair.median, (10 + 1e9 / 105e6) / 2);
  const cs = comparisons([pcpu, refc]);
  const c = cs.find((x) => x.cpus === 2 && x.a === 'dev_hold' && x.b === 'atomic');
  t.equal(c?.verdict, 'higher');
  t.ok(Math.abs((c?.ratio ?? 0) - 205 / 22) < 1e-9);
  t.equal(cs.find((x) => x.cpus === 1 && x.a === 'dev_hold' && x.b === 'refcount')?.verdict, 'overlap');
  const across = cs.filter((x) => x.kernel === 'across kernels');
  t.equal(across.length, 2, 'dev_hold of the second kernel against the first, at 1 and 2 CPUs');
  t.equal(across.find((x) => x.cpus === 2)?.verdict, 'lower');
  t.match(across[0]?.a ?? '', /dev_hold on 6\.1\.0-57-amd64 \(refcount\)/);
});

t.test('floor ratios: each vm-test phase over the bare boot', async (t) => {
  const r = floorRatios(spread([3000, 3100, 3200]), [{ boot: 3600, total: 15500 }, { boot: 3400, total: 14500 }]);
  t.same(r, { boot: 3500 / 3100, total: 15000 / 3100 });
});

t.test("a real vm-test report's timing: its phases, the claims' waits scenario by scenario, the harness's own part", async (t) => {
  const json = JSON.parse(readFileSync(path.join(fixtures, '../runs/stock-virtio-smp2-possible4/report.json'), 'utf8')) as Parameters<typeof reportTiming>[0];
  const { phasesMs, waits } = reportTiming(json);
  t.equal(phasesMs.scenarios, 11599);
  t.equal(phasesMs.claimWaits, 10336);
  t.equal(phasesMs.scenariosOwn, 11599 - 10336, 'the scenarios less the waits');
  t.equal(waits.reduce((a, w) => a + w.ms, 0), 10336, 'the waits add up to the phase');
  t.same([...new Set(waits.map((w) => w.scenario))], ['unregister-held', 'unregister-rebroadcast', 'cpu-hotplug', 'unregister-offline-cpu', 'cpu-unplug', 'memory-cost']);
  t.match(waits.find((w) => w.scenario === 'unregister-held')?.why, /netdev_unregister_timeout_secs/);
  t.same(reportTiming({ phasesMs: { boot: 1 }, scenarios: [{ name: 'x' }] }), { phasesMs: { boot: 1 }, waits: [] }, 'an older report: no waits, no guess');
  const report: BenchReport = {
    tool: 't',
    startedAt: '',
    machine: { cpuModel: 'Test CPU', hostCpus: 2, loadAvgStart: [1], loadAvgEnd: [1], note: 'noisy' },
    settings: { smp: 2, runs: 2, msec: 1000, floodPackets: 1, floodRuns: 1, kernels: ['stock'] },
    kernels: [],
    comparisons: [],
    floor: { floorMs: spread([2000]), vmTest: [{ ok: true, report: 'r.json', phasesMs, waits }], ratios: floorRatios(spread([2000]), [phasesMs]) },
    error: null,
    files: { dir: 'd', json: 'j', svg: 's', table: 't' },
  };
  const text = formatBenchTable(report);
  t.match(text, /scenarios 11\.60 s, of which the claims' waits 10\.34 s/);
  t.match(text, /the scenarios less those waits 0\.63x/);
  t.match(text, /memory-cost\s+2\.38 s  the kernel allocating/);
});

t.test('the table names the accelerator and says when a difference is real', async (t) => {
  const report: BenchReport = {
    tool: 't',
    startedAt: '',
    machine: { cpuModel: 'Test CPU', hostCpus: 2, loadAvgStart: [1], loadAvgEnd: [1], note: 'noisy' },
    settings: { smp: 2, runs: 2, msec: 1000, floodPackets: 1, floodRuns: 1, kernels: ['pcpu', 'refcount'] },
    kernels: [pcpu, refc],
    comparisons: comparisons([pcpu, refc]),
    floor: { floorMs: spread([3000]), vmTest: [{ ok: true, report: 'r.json', phasesMs: { boot: 3600 } }], ratios: { boot: 1.2 } },
    error: null,
    files: { dir: 'd', json: 'j', svg: 's', table: 't' },
  };
  const text = formatBenchTable(report);
  t.match(text, /TCG: every instruction is emulated/);
  t.match(text, /dev_hold\s+2\s+205\.0 \[200\.0-210\.0\]/);
  t.match(text, /2 CPUs, pairs\/s: dev_hold \/ atomic = 9\.32x, real \(ranges do not overlap\)/);
  t.match(text, /1 CPU, pairs\/s: dev_hold \/ refcount = 0\.95x, ranges overlap: no real difference/);
  t.match(text, /vm-test phase \/ floor \(medians\): boot 1\.20x/);
  t.match(text, /flood: skipped \(--skip-flood\)/);
});

t.test('the chart is one SVG with a line per mode and kernel', async (t) => {
  const svg = benchChart([pcpu, refc], 'pairs & CPUs');
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /pairs &amp; CPUs/);
  t.equal((svg.match(/<path /g) ?? []).length, 4, 'pcpu: dev_hold, atomic, refcount; refcount kernel: dev_hold');
  t.match(svg, /dev_hold \(refcount\)/);
  t.match(svg, /accelerator: tcg/);
  t.equal(niceStep(205, 5), 50);
  t.equal(niceStep(9, 5), 2);
});

t.test('the command line', async (t) => {
  const a = parseBenchArgs([]);
  t.same(a.kernels, [{ kernel: null, kdir: null }]);
  t.equal(a.runs, 5);
  t.equal(a.msec, 250);
  t.same(parseBenchArgs(['--kernel', 'pcpu', '--kernel', 'refcount']).kernels.map((k) => k.kernel), ['pcpu', 'refcount']);
  t.throws(() => parseBenchArgs(['--runs', '3']), /--runs 3 is not a whole number from 5 to 100/);
  t.throws(() => parseBenchArgs(['--kernel', 'a', '--kernel', 'b', '--kdir', 'x']), /1 --kdir for 2 --kernel/);
  t.throws(() => parseBenchArgs(['--msec', '10']), /pass --msec N with 50 <= N <= 5000/);
  t.throws(() => parseBenchArgs(['--bogus']), /Unknown option/);
  const p = parseBenchArgs(['--patch', 'x.patch', '--base', 'refcount']);
  t.same([p.patches, p.base], [['x.patch'], 'refcount'], '--patch: the base and its patched self');
  t.throws(() => parseBenchArgs(['--patch', 'x.patch', '--kernel', 'pcpu']), /--patch with --kernel.*--base/s);
  t.throws(() => parseBenchArgs(['--base', 'pcpu']), /--base without --patch/);
});

t.test('the flood is compared across kernels only through the same device', async (t) => {
  const f = (sysUs: number[]): FloodSample[] => sysUs.map((s) => ({ threads: 2, packets: 1000, wallNs: 1e9, sysUs: s, userUs: 0, failed: false }));
  const withFlood = (k: KernelBench, device: string, sysUs: number[]): KernelBench => ({
    ...k,
    flood: { device, how: 'test', points: summarizeFlood(f(sysUs), sysUs.map(() => 2000)) },
  });
  const a = withFlood(pcpu, 'dummy0', [80000, 82000, 84000]);
  const same = comparisons([a, withFlood(refc, 'dummy0', [90000, 91000, 95000])]).filter((c) => c.metric === 'sys us/packet');
  t.equal(same.length, 1);
  t.equal(same[0]?.verdict, 'higher', 'refcount kernel: more system time per packet, ranges apart');
  t.ok(Math.abs((same[0]?.ratio ?? 0) - 91 / 82) < 1e-9);
  t.equal(comparisons([a, withFlood(refc, 'lo', [1])]).filter((c) => c.metric === 'sys us/packet').length, 0);
});

for (const run of ['bench-stock-tcg-smp2', 'bench-variants-tcg-smp2']) {
  t.test(`a saved real run (${run}): the chart and the table are rebuilt exactly from its JSON`, async (t) => {
    const report = JSON.parse(fixture(`${run}.json`)) as BenchReport;
    t.equal(benchChart(report.kernels, 'dev_hold+dev_put pairs per second vs CPUs (TCG)'), fixture(`${run}.svg`));
    t.equal(formatBenchTable(report), fixture(`${run}.txt`));
    t.ok(report.kernels.every((k) => k.balanced), 'the device read 1 after every run');
    t.same(report.comparisons, comparisons(report.kernels));
  });
}

t.test('more guest CPUs than host cores: the table says the points above the cores do not show scaling', async (t) => {
  const { oversubscribed } = await import('../../src/bench/table.js');
  const report = JSON.parse(fixture('bench-stock-tcg-smp2.json')) as BenchReport;
  t.same(oversubscribed(report), [], '2 guest CPUs on 2 host cores: nothing to say');
  const big = { ...report, settings: { ...report.settings, smp: 16 } };
  t.match(oversubscribed(big)[0], /^WARNING: 16 guest CPUs on 2 host cores: the points above 2 CPUs measure vCPUs taking turns on a core.*run --smp 2 here, or on a host with 16 cores/);
  t.match(formatBenchTable(big), /WARNING: 16 guest CPUs on 2 host cores/);
});
