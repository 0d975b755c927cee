import t from 'tap';
import { DeviceModel } from '../../src/model/device.js';
import { applyIrqRun, expectedOps, irqReadingEnvelope, processRound, referencesLeft, roundPeakBound } from '../../src/model/irq.js';
import { within } from '../../src/model/race.js';
import { parseIrq, type IrqResult } from '../../src/probe/parse.js';
import { checkRaceHappened, IRQ_REQUEST, IRQ_TIMER_REQUEST } from '../../src/scenarios/irq-context.js';
import { Steps } from '../../src/scenarios/scenario.js';
import type { RefProbe } from '../../src/probe/client.js';
import { fixture } from '../fixtures.js';

t.test('the irq file of a real run: IPIs from another CPU, a reader', async (t) => {
  const r = parseIrq(fixture('irq-6.1.0-57-amd64-smp2-ipi.txt'));
  t.same(r.source, { kind: 'ipi', from: 0, gapNs: 10_000 });
  t.same([r.cpu, r.hard, r.soft, r.phold, r.pput, r.base, r.timedOut], [1, 10_000, 5_000, 100_000, 99_900, 8, false]);
  t.same(r.hardirq, { ops: 10_000, runs: 10_000, inContext: 10_000, onProcess: 9_987, duringProcess: 10_000, ns: 666_685_660 });
  t.same(r.softirq, { ops: 5_000, runs: 5_000, inContext: 5_000, onProcess: 4_993, duringProcess: 5_000, threaded: false });
  t.same(r.process, { holds: 11_100_000, puts: 11_088_900, rounds: 111, ns: 670_297_870 });
  t.same(r.reader, { cpu: 0, reads: 261_408, min: 211, max: 16_108 });
});

t.test('the irq file of a real run: a pinned hrtimer, no reader (one online CPU)', async (t) => {
  const r = parseIrq(fixture('irq-6.1.0-57-amd64-smp1-timer.txt'));
  t.same(r.source, { kind: 'timer', periodNs: 100_000, resolutionNs: 1 });
  t.equal(r.reader, null);
  t.equal(r.hardirq.ops, 500);
  t.equal(r.softirq.onProcess, 241);
});

t.test('the irq file: what is not understood is said', async (t) => {
  t.throws(() => parseIrq(''), /irq: empty/);
  const good = fixture('irq-6.1.0-57-amd64-smp2-ipi.txt');
  t.throws(() => parseIrq(good.replace(/^source .*\n/m, '')), /no "source ipi from CPU gap_ns N"/);
  t.throws(() => parseIrq(good.replace('interrupts 10000', 'interrupts x')), /irq hardirq interrupts: "x" is not an integer/);
  t.throws(() => parseIrq(good.replace(/^softirq .*\n/m, '')), /irq: no "softirq" line/);
  t.throws(() => parseIrq(good.replace(' on_process 9987', '')), /no "on_process" on the "hardirq" line/);
  t.throws(() => parseIrq(good.replace(' min 211', ' min')), /is not "reader key value/);
});

t.test('a process round: the balance never goes below zero and never above PHOLD - PPUT + 1', async (t) => {
  for (const [phold, pput] of [[1, 0], [1, 1], [2, 1], [3, 2], [7, 3], [10, 10], [150, 100], [1000, 999], [997, 13], [100_000, 99_900]] as const) {
    const r = processRound(phold, pput);
    t.same([r.holds, r.puts], [phold, pput], `${phold}/${pput}: every hold and put of the round`);
    t.equal(r.low, 0, `${phold}/${pput}: never below zero`);
    t.ok(r.peak <= roundPeakBound(phold, pput), `${phold}/${pput}: peak ${r.peak} <= ${roundPeakBound(phold, pput)}`);
  }
  t.equal(processRound(2, 1).peak, 1, 'hold, put, hold');
  t.equal(processRound(100, 1).peak, 99, 'a put early on, then holds: PHOLD - PPUT at the end');
  t.equal(processRound(10, 10).peak, 1, 'equal counts alternate: hold, put, hold, put');
});

function result(over: Partial<IrqResult> = {}): IrqResult {
  return { ...parseIrq(fixture('irq-6.1.0-57-amd64-smp2-ipi.txt')), ...over };
}

t.test('the counters after a run follow from the operations done, all on the run\'s CPU', async (t) => {
  const topo = { nrCpuIds: 4, possible: [0, 1, 2, 3], online: [0, 1] };
  const r = result();
  const ops = { hardirqHolds: r.hardirq.ops, softirqPuts: r.softirq.ops, processHolds: r.process.holds, processPuts: r.process.puts };
  t.same(ops, expectedOps({ hard: r.hard, soft: r.soft, phold: r.phold, pput: r.pput }, r.process.rounds), 'a complete run does whole rounds and every interrupt operation');
  t.equal(referencesLeft(ops), 5_000 + 11_100, 'the interrupts leave HARD - SOFT, each round PHOLD - PPUT');
  for (const variant of ['pcpu', 'refcount'] as const) {
    const dev = new DeviceModel('rpirq0', variant, topo);
    dev.alloc(0);
    dev.register();
    dev.adoptBaseline({ name: 'rpirq0', reg: 'registered', unreg: 'none', held: 0, nheld: 0, nlate: 0, unregEvents: 0, unregUs: null, tracked: false, refcnt: 8, pcpu: variant === 'pcpu' ? new Map([[0, 8], [1, 0], [2, 0], [3, 0]]) : null });
    applyIrqRun(dev, 1, ops);
    const p = dev.predict();
    t.equal(p.refcnt, 8 + 16_100, `${variant}: the sum`);
    t.equal(p.held, 16_100, `${variant}: what the module holds`);
    if (variant === 'pcpu') t.same(p.pcpu, { 0: 8, 1: 16_100, 2: 0, 3: 0 }, 'only CPU 1 moved');
  }
});

t.test('readings during the run: within [base, base + interrupts\' holds + the process loop\'s peak]', async (t) => {
  const r = result();
  const ops = { hardirqHolds: r.hardirq.ops, softirqPuts: r.softirq.ops, processHolds: r.process.holds, processPuts: r.process.puts };
  const env = irqReadingEnvelope(8, ops, { hard: r.hard, soft: r.soft, phold: r.phold, pput: r.pput });
  t.same(env, { lo: 8, hi: 8 + 10_000 + 11_100 + 1 });
  t.ok(r.reader && within(env, r.reader.min, r.reader.max), 'the real run read within it');
  t.notOk(within(env, 7, 100), 'below the baseline: a reading the count never had');
});

t.test('the requests: puts never ahead of holds, and the timer asks for less', async (t) => {
  for (const req of [IRQ_REQUEST, IRQ_TIMER_REQUEST]) {
    t.ok(req.soft <= req.hard && req.pput <= req.phold, 'SOFT <= HARD, PPUT <= PHOLD, as the module requires');
    t.ok(req.hard <= 1_000_000 && req.phold <= 10_000_000, 'within max_count and max_ops');
  }
  t.ok(IRQ_TIMER_REQUEST.hard * 4_000_000 <= 2.5e9, 'at a 250 Hz tick the timer\'s interrupts take at most 2.5 s');
});

t.test('no interrupt inside the process loop: the scenario fails, saying the race did not happen', async (t) => {
  const steps = new Steps({} as RefProbe);
  const r = result();
  checkRaceHappened(steps, r);
  t.ok(steps.ok, 'the real run: interrupts landed inside the loop');
  const missed = new Steps({} as RefProbe);
  checkRaceHappened(missed, result({ softirq: { ...r.softirq, onProcess: 0 } }));
  t.notOk(missed.ok, 'no softirq put inside the loop fails');
  t.match(missed.records[0]?.diff, /none of the 5000 softirq puts interrupted the process loop: the race did not happen/);
  const none = new Steps({} as RefProbe);
  checkRaceHappened(none, result({ hardirq: { ...r.hardirq, onProcess: 0 }, softirq: { ...r.softirq, onProcess: 0 } }));
  t.match(none.records[0]?.diff, /none of the 10000 hardirq holds/);
});

t.test('PREEMPT_RT: softirqs run in a thread, so their puts must have preempted the loop, not interrupted it', async (t) => {
  const r = result();
  // As Debian's 6.12-rt did at 2:4: 0 of 2500 softirq puts on the loop itself, all 2500 while it was preempted inside.
  const rt = (during: number): IrqResult => result({ softirq: { ...r.softirq, onProcess: 0, duringProcess: during, threaded: true } });
  const ok = new Steps({} as RefProbe);
  checkRaceHappened(ok, rt(2500));
  t.ok(ok.ok, 'threaded softirqs during the loop: the race happened');
  t.match(ok.records[0]?.op, /threaded softirq puts \(PREEMPT_RT\) preempted it/);
  const missed = new Steps({} as RefProbe);
  checkRaceHappened(missed, rt(0));
  t.match(missed.records[0]?.diff, /none of the 5000 softirq puts preempted the process loop: the race did not happen/);
  t.equal(r.softirq.threaded, false, 'the saved run (no threaded key): softirqs interrupt');
});
