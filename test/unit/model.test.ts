import t from 'tap';
import { int32, PcpuCounter, REFCOUNT_SATURATED, RefcountT } from '../../src/model/counter.js';
import { DeviceModel, observe } from '../../src/model/device.js';
import type { DeviceReading, Topology } from '../../src/model/types.js';
import { meminfoBound, perDeviceBytes } from '../../src/model/memory.js';
import { noWaitWindow, rebroadcastWindow, unregisterEvents, warningWindow } from '../../src/model/unregister-timing.js';
import { effectiveModuleParams } from '../../src/run/vm-test.js';

const topo: Topology = { nrCpuIds: 4, possible: [0, 1, 2, 3], online: [0, 1] };

t.test('per-CPU counter: hold and put touch one CPU, read sums every possible CPU', async (t) => {
  const c = new PcpuCounter([0, 1, 2, 3]);
  c.hold(1, 5);
  c.put(3, 2);
  t.same(Object.fromEntries(c.perCpu()), { 0: 0, 1: 5, 2: 0, 3: -2 });
  t.equal(c.read(), 3, 'the sum includes CPU 3, which is possible but not online');
  t.throws(() => c.hold(4), /not a possible CPU/);
});

t.test('per-CPU counter: int32 wrap-around of counters and of the sum', async (t) => {
  const c = new PcpuCounter([0, 1]);
  c.add(0, 0x7fffffff);
  c.hold(0);
  t.equal(c.perCpu().get(0), -0x80000000, 'a counter wraps like a C int');
  c.set(new Map([[0, 0x7fffffff], [1, 1]]));
  t.equal(c.read(), -0x80000000, 'the sum wraps like a C int');
  t.equal(int32(2 ** 32 + 5), 5);
});

t.test('refcount_t: warnings and saturation as in include/linux/refcount.h', async (t) => {
  const r = new RefcountT(1);
  r.put();
  t.same(r.warnings, ['decrement hit 0; leaking memory']);
  t.equal(r.read(), REFCOUNT_SATURATED);
  const z = new RefcountT(0);
  z.hold();
  t.same(z.warnings, ['addition on 0; use-after-free']);
  const o = new RefcountT(0x7fffffff);
  o.hold();
  t.same(o.warnings, ['saturated; leaking memory']);
  t.equal(o.read(), REFCOUNT_SATURATED);
  const ok = new RefcountT(5);
  ok.hold(3);
  ok.put(2);
  t.equal(ok.read(), 6);
  t.same(ok.warnings, []);
});

const reading = (over: Partial<DeviceReading>): DeviceReading => ({
  name: 'rp0',
  reg: 'registered',
  unreg: 'none',
  held: 0,
  tracked: false,
  nheld: 0,
  nlate: 0,
  unregEvents: 0,
  unregUs: null,
  refcnt: 8,
  pcpu: new Map([[0, 7], [1, 1], [2, 0], [3, 0]]),
  ...over,
});

t.test('device: alloc reads 1 on the allocating CPU', async (t) => {
  const d = new DeviceModel('rp0', 'pcpu', topo);
  d.alloc(1);
  t.same(d.predict(), { present: true, reg: 'uninitialized', unreg: 'none', held: 0, nheld: 0, nlate: 0, refcnt: 1, pcpu: { 0: 0, 1: 1, 2: 0, 3: 0 }, pcpuSum: 1 });
});

t.test('device: after the baseline, holds and puts are predicted per CPU', async (t) => {
  const d = new DeviceModel('rp0', 'pcpu', topo);
  d.alloc(0);
  d.register();
  t.equal(d.adoptBaseline(reading({})), 8);
  d.hold(1, 3);
  d.put(0, 2);
  t.same(d.predict().pcpu, { 0: 5, 1: 4, 2: 0, 3: 0 });
  t.equal(d.predict().refcnt, 9);
  t.throws(() => d.hold(2, 1), /not online/, 'CPU 2 is possible but offline');
  t.throws(() => d.put(0, 2), /only 1 held/);
});

t.test('device: unregister predicts the sum only; free makes it absent', async (t) => {
  const d = new DeviceModel('rp0', 'pcpu', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline(reading({}));
  d.unregisterStarted();
  t.same(d.predict(), { present: true, reg: 'unregistered', held: 0, nheld: 0, nlate: 0, refcnt: 1, pcpuSum: 1 }, 'pending or done: a race once nothing is held');
  d.unregisterCompleted();
  t.equal(d.predict().unreg, 'done');
  d.free();
  t.same(d.predict(), { present: false });
});

t.test('device: refcount_t variant has no per-CPU counters', async (t) => {
  const d = new DeviceModel('rp0', 'refcount', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline(reading({ pcpu: null, refcnt: 8 }));
  d.hold(1, 2);
  t.same(d.predict(), { present: true, reg: 'registered', unreg: 'none', held: 2, nheld: 0, nlate: 0, refcnt: 10, pcpu: null });
});

t.test('observe: reduces a reading to the predicted fields', async (t) => {
  const d = new DeviceModel('rp0', 'pcpu', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline(reading({}));
  const bad = reading({ refcnt: 9 });
  const o = observe(bad, d.predict());
  t.equal(o.refcnt, 9);
  t.equal(o.pcpuSum, 8, 'the sum of the per-CPU counters the kernel showed');
  t.same(observe(undefined, d.predict()), { present: false });
});

t.test('device: a notifier holder lets go when unregister starts', async (t) => {
  const d = new DeviceModel('rp0', 'pcpu', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline(reading({}));
  d.holdNotifier(1, 2);
  t.equal(d.predict().nheld, 2);
  t.equal(d.predict().refcnt, 10);
  d.unregisterStarted();
  t.equal(d.predict().nheld, 0);
  t.equal(d.predict().refcnt, 1, 'nothing left to wait for');
});

t.test('device: a dummy has no count to read on a per-CPU kernel', async (t) => {
  const d = new DeviceModel('rpd', 'pcpu', topo);
  d.initDummy();
  t.same(d.predict(), { present: true, reg: 'dummy', unreg: 'none', held: 0, nheld: 0, nlate: 0, refcnt: null, pcpu: null });
  t.equal(d.counted, false);
  const r = new DeviceModel('rpd', 'refcount', topo);
  r.initDummy();
  t.equal(r.predict().refcnt, 0, 'the zeroed refcount_t of a refcount kernel reads 0');
});

t.test('memory: 4 bytes per per-CPU unit, nothing for refcount_t or a dummy; the bound is two pages per unit', async (t) => {
  t.equal(perDeviceBytes('pcpu', 6), 24, '5 possible CPUs, 6 units: 24 B, not 20');
  t.equal(perDeviceBytes('pcpu', 64, true), 0, 'a dummy gets no counter in 6.1');
  t.equal(perDeviceBytes('refcount', 64), 0);
  t.equal(meminfoBound(6, 16384), 3, '2 x 4096 x 6 / 16384');
  t.ok(Math.abs(20 - perDeviceBytes('pcpu', 6)) > meminfoBound(6, 16384), 'the bound tells units from possible CPUs at 3:5');
});

t.test('unregister timing: notifications exact, times in windows from the wait loop', async (t) => {
  t.equal(unregisterEvents(0), 1);
  t.equal(unregisterEvents(1), 2);
  t.equal(rebroadcastWindow().lo, 1000, 'never before a second: time_after(jiffies, start + HZ)');
  t.ok(rebroadcastWindow().hi <= 10_000, 'before the 10 s warning is due');
  t.equal(warningWindow(1).lo, 1000);
  t.ok(noWaitWindow().hi < rebroadcastWindow().hi);
});

t.test('device: a late holder keeps unregister waiting until the rebroadcast', async (t) => {
  const d = new DeviceModel('rp0', 'pcpu', topo);
  d.alloc(0);
  d.register();
  d.adoptBaseline(reading({}));
  d.holdRebroadcast(1, 2);
  t.equal(d.predict().nlate, 2);
  d.unregisterStarted();
  t.equal(d.predict().unreg, 'pending', 'the first NETDEV_UNREGISTER does not release them');
  t.equal(d.predict().refcnt, 3, '1 + the 2 the late holder keeps');
  t.throws(() => d.unregisterCompleted(), /references held/);
  d.rebroadcast();
  d.unregisterCompleted();
  t.equal(d.predict().refcnt, 1);
});

t.test('the module gives up on its workers before the harness gives up on the command', async (t) => {
  t.same(effectiveModuleParams({}, 20), { worker_timeout_ms: 10_000 });
  t.same(effectiveModuleParams({ worker_timeout_ms: 50 }, 60), { worker_timeout_ms: 50 }, 'a test may set its own');
});
