import t from 'tap';
import { parseCpuList, formatCpuList } from '../../src/model/cpumask.js';
import { parseDeviceLine, parseDevices, parseInfo, parsePcpuUnits } from '../../src/probe/parse.js';
import { fixture } from '../fixtures.js';

t.test('info: a real reading from the stock kernel', async (t) => {
  const info = parseInfo(fixture('info-6.1.0-57-amd64-smp2.txt'));
  t.equal(info.release, '6.1.0-57-amd64');
  t.equal(info.variant, 'pcpu');
  t.equal(info.tracker, false);
  t.same(info.topology, { nrCpuIds: 2, possible: [0, 1], online: [0, 1] });
  t.equal(info.maxCount, 1000000);
});

t.test('devices: a real reading: pending unregister, notifier references, counters beyond 16 bits of opposite sign', async (t) => {
  const devs = parseDevices(fixture('devices-6.1.0-57-amd64-smp4-possible5.txt'));
  t.same([...devs.keys()], ['rpa', 'rpb', 'rpc', 'rpe', 'rpd']);
  const a = devs.get('rpa');
  t.equal(a?.reg, 'uninitialized');
  t.equal(a?.refcnt, 1);
  t.same([...(a?.pcpu ?? [])], [[0, 0], [1, 1], [2, 0], [3, 0], [4, 0]], 'every possible CPU, the absent CPU 4 too');
  const b = devs.get('rpb');
  t.equal(b?.unreg, 'pending');
  t.equal(b?.unregUs, null, 'no time until the unregister returns');
  t.equal(b?.held, 11);
  t.equal(b?.nheld, 0, 'the notifier let go of its 2 when unregister started');
  t.ok((b?.unregEvents ?? 0) >= 2, 'the wait loop re-sent NETDEV_UNREGISTER while the module held 11');
  t.equal(b?.refcnt, 12, '1 + the 11 the module still holds');
  const c = devs.get('rpc');
  t.equal(c?.nlate, 3, 'hold_rebroadcast: 3 the notifier keeps until a repeated NETDEV_UNREGISTER');
  t.equal(c?.pcpu?.get(3), 100000);
  t.equal(c?.pcpu?.get(2), -99997);
  const e = devs.get('rpe');
  t.equal(e?.unreg, 'done');
  t.equal(e?.unregEvents, 1, 'a balanced unregister: one notification, no rebroadcast');
  t.equal(e?.unregUs, 58311);
  const d = devs.get('rpd');
  t.equal(d?.reg, 'dummy');
  t.equal(d?.refcnt, null, 'a dummy on a per-CPU kernel has nothing to read');
  t.equal(d?.pcpu, null);
});

t.test('dmesg: the per-CPU allocator counts units, not possible CPUs', async (t) => {
  t.equal(parsePcpuUnits(fixture('dmesg-6.1.0-57-amd64-smp4-possible5.txt')), 6, '"pcpu-alloc: [0] 0 1 [0] 2 3 [0] 4 -": 5 possible CPUs, 6 units');
  // An 8:13 guest (real lines): two-digit CPU numbers, and "--" for the 3 units no CPU uses.
  t.equal(parsePcpuUnits('[    0.096273] pcpu-alloc: s217088 r8192 d28672 u262144 alloc=1*2097152\n[    0.096401] pcpu-alloc: [0] 00 01 02 03 04 05 06 07 [0] 08 09 10 11 12 -- -- -- \n'), 16, '13 possible CPUs, 16 units');
  t.equal(parsePcpuUnits('pcpu-alloc: [0] 00 01 02 03 [1] 04 05 06 07\npcpu-alloc: [1] 08 -- -- -- \n'), 12, 'groups over several lines');
  t.throws(() => parsePcpuUnits('Linux version 6.1\n'), /no "pcpu-alloc/);
});

t.test('devices: negative values and "none"', async (t) => {
  const d = parseDeviceLine('rp0 reg=registered unreg=none held=0 nheld=0 nlate=0 unreg_events=0 unreg_us=-1 refcnt=8 pcpu=0:11,1:-3');
  t.same([...(d.pcpu ?? [])], [[0, 11], [1, -3]]);
  t.equal(parseDeviceLine('rp0 reg=dummy unreg=none held=0 nheld=0 nlate=0 unreg_events=0 unreg_us=-1 refcnt=0 pcpu=none').pcpu, null);
});

t.test('devices: garbage is refused with the line named', async (t) => {
  t.throws(() => parseDeviceLine('rp0 reg=bogus unreg=none held=0 nheld=0 nlate=0 unreg_events=0 unreg_us=-1 refcnt=8 pcpu=none'), /unknown reg state "bogus"/);
  t.throws(() => parseDeviceLine('rp0 reg=registered unreg=none held=0 nheld=0 nlate=0 unreg_events=0 unreg_us=-1 pcpu=none'), /no "refcnt"/);
  t.throws(() => parseDeviceLine('rp0 reg=registered unreg=none held=x nheld=0 nlate=0 unreg_events=0 unreg_us=-1 refcnt=1 pcpu=none'), /not an integer/);
  t.throws(() => parseDeviceLine('rp0 reg=registered unreg=none held=0 nheld=0 nlate=0 unreg_events=0 unreg_us=-1 refcnt=1 pcpu=0=1'), /bad per-CPU entry/);
  t.throws(() => parseInfo('release 6.1\nvariant atomic\n'), /unknown variant/);
});

t.test('CPU lists as %*pbl prints them', async (t) => {
  t.same(parseCpuList('0-3,6,8-9'), [0, 1, 2, 3, 6, 8, 9]);
  t.same(parseCpuList(''), []);
  t.equal(formatCpuList([0, 1, 2, 3, 6, 8, 9]), '0-3,6,8-9');
  t.throws(() => parseCpuList('3-1'), /backwards/);
  t.throws(() => parseCpuList('a'), /not N or N-M/);
});
