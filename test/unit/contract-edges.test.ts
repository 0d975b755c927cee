/**
 * The contract's edges, without a VM: the usage-count lines read from a real
 * console, their spacing, a sum that falls below 1 while unregister waits,
 * a hold on a refcount_t dummy's 0, and WARN_ONCEs a boot printed before.
 */
import t from 'tap';
import { usageWarnings } from '../../src/crash/unregister-warnings.js';
import { REFCOUNT_SATURATED } from '../../src/model/counter.js';
import { DeviceModel } from '../../src/model/device.js';
import type { DeviceReading, Topology } from '../../src/model/types.js';
import { repeatWindow } from '../../src/model/unregister-timing.js';
import { fixture } from '../fixtures.js';

const topo: Topology = { possible: [0, 1, 2, 3], online: [0, 1, 2], nrCpuIds: 4 };
const lines = fixture('console-6.1-tracker-unregister-warnings.log').split('\n');

t.test('usage-count lines: the count each printed and the guest time, per device', async (t) => {
  const w = usageWarnings(lines, 'rpwait0');
  t.same(w.map((x) => x.usage), [4, 3], 'the count read afresh: one less after the put between them');
  t.same(w.map((x) => x.atMs), [3190.022, 4340.282]);
  const gap = (w[1]?.atMs ?? 0) - (w[0]?.atMs ?? 0);
  const win = repeatWindow(1);
  t.ok(gap >= win.lo && gap <= win.hi, `${gap} ms apart: within [${win.lo}, ${win.hi}]`);
  t.same(usageWarnings(lines, 'rpbelow0').map((x) => x.usage), [0], 'below one: the kernel prints 0 and goes on waiting');
  t.same(usageWarnings(lines, 'rpwait'), [], 'a name is matched whole');
  t.same(usageWarnings(lines, 'rpwait0', (w[0]?.index ?? 0) + 1).map((x) => x.usage), [3], 'from a line on');
  t.ok(Number.isNaN(usageWarnings(['unregister_netdevice: waiting for x to become free. Usage count = 2'], 'x')[0]?.atMs), 'no stamp: no time (never a guess)');
});

t.test('repeat window: strictly more than the sysctl, a backoff sleep and the slack beyond', async (t) => {
  const w = repeatWindow(1);
  t.equal(w.lo, 1000);
  t.ok(w.hi > 1250 && w.hi < 10_000);
  t.equal(repeatWindow(3).lo, 3000);
});

const baseline = (pcpu: Record<number, number>): DeviceReading => ({
  name: 'rpb',
  reg: 'registered',
  unreg: 'none',
  unregUs: -1,
  held: 0,
  tracked: false,
  nheld: 0,
  nlate: 0,
  unregEvents: 0,
  refcnt: Object.values(pcpu).reduce((a, b) => a + b, 0),
  pcpu: new Map(Object.entries(pcpu).map(([c, v]) => [Number(c), v])),
});

t.test('below one while unregister waits: per-CPU sums fall to 0 and the wait goes on until a hold pays it back', async (t) => {
  const d = new DeviceModel('rpb', 'pcpu', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline(baseline({ 0: 8 }));
  d.hold(2, 1);
  t.throws(() => d.put(0, 2), { message: /only 1 held/ }, 'before unregister, a put past what we hold would drop the kernel\'s own');
  d.unregisterStarted();
  t.equal(d.predict().refcnt, 2);
  d.put(0, 2);
  t.equal(d.predict().refcnt, 0, '1 + held, held = -1');
  t.equal(d.predict().unreg, 'pending', 'waiting for exactly 1: 0 is not free');
  t.throws(() => d.unregisterCompleted(), { message: /references held/ }, 'it cannot complete below one');
  d.hold(0, 1);
  t.equal(d.predict().refcnt, 1);
  d.unregisterCompleted();
  t.equal(d.predict().unreg, 'done');
  t.same(d.expectedWarnings(), [], 'per-CPU counters: not a word');
});

t.test('below one on the tracker: no_tracker hits 0, the hold back finds it saturated, free finds it not 1', async (t) => {
  const d = new DeviceModel('rpb', 'pcpu', topo, true);
  d.alloc(0);
  d.register();
  d.adoptBaseline(baseline({ 0: 8 }));
  d.hold(2, 1);
  d.unregisterStarted();
  d.put(0, 2);
  d.hold(0, 1);
  d.unregisterCompleted();
  d.free();
  t.same(d.expectedWarnings(), [
    'refcount_t: decrement hit 0; leaking memory',
    'WARNING at lib/refcount.c',
    'refcount_t: saturated; leaking memory',
    'WARNING at lib/refcount.c',
    'WARNING at lib/ref_tracker.c',
  ]);
  t.same(
    d.expectedWarnings(new Set(['refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c', 'WARNING at lib/ref_tracker.c'])),
    ['refcount_t: saturated; leaking memory', 'WARNING at lib/refcount.c'],
    'WARN_ONCE: what the boot printed before (imbalance) does not come again; a new kind does',
  );
});

t.test('a refcount_t cannot go below one and come back: the model refuses it as the module does', async (t) => {
  const d = new DeviceModel('rpb', 'refcount', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline({ ...baseline({}), refcnt: 8, pcpu: null });
  d.hold(1, 1);
  d.unregisterStarted();
  t.throws(() => d.put(0, 2), { message: /only 1 held/ });
});

t.test('a hold on a dummy: refused on per-CPU (no counter), refcount_inc on 0 on refcount_t', async (t) => {
  const p = new DeviceModel('rpd', 'pcpu', topo);
  p.initDummy();
  t.equal(p.counted, false);
  const r = new DeviceModel('rpd', 'refcount', topo);
  r.initDummy();
  t.equal(r.counted, true);
  t.equal(r.predict().refcnt, 0);
  r.hold(0, 1);
  t.equal(r.predict().refcnt, REFCOUNT_SATURATED, 'saturated, not 1');
  r.put(0, 1);
  t.equal(r.predict().refcnt, REFCOUNT_SATURATED, 'and stays there');
  t.same(r.expectedWarnings(), [
    'refcount_t: addition on 0; use-after-free',
    'WARNING at lib/refcount.c',
    'refcount_t: decrement hit 0; leaking memory',
    'WARNING at lib/refcount.c',
  ]);
});
