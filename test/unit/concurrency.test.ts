import t from 'tap';
import { DeviceModel } from '../../src/model/device.js';
import { stressStream, streamSeed, Xorshift32 } from '../../src/model/prng.js';
import { readingEnvelope, trueRange, within } from '../../src/model/race.js';
import { parseMeminfoPercpu, parseRace, parseStress } from '../../src/probe/parse.js';
import { fixture } from '../fixtures.js';

t.test('the TS generator reproduces the C one: holds and puts per CPU from a real run', async (t) => {
  const real = parseStress(fixture('stress-seed12345-1m-cap100000-4cpus.txt'));
  t.equal(real.seed, 12345);
  t.equal(real.ops, 1_000_000);
  t.equal(real.cap, 100_000);
  t.same([...real.cpus.keys()], [0, 1, 2, 3]);
  for (const [cpu, r] of real.cpus) t.same(stressStream(real.seed, cpu, real.ops, real.cap), { holds: r.holds, puts: r.puts }, `CPU ${cpu}`);
  const left = [...real.cpus.values()].map((r) => r.holds - r.puts);
  t.ok(left.every((n) => n > 65_535), `every CPU's stream ended beyond 16 bits: ${left.join(', ')}`);
});

t.test('the generator: u32 arithmetic, never a zero state, streams differ per CPU', async (t) => {
  for (const [seed, cpu] of [[0, 0], [2 ** 32 - 1, 63], [12345, 1]] as const) {
    const s = streamSeed(seed, cpu);
    t.ok(Number.isInteger(s) && s > 0 && s < 2 ** 32, `seed(${seed}, ${cpu}) = ${s} is a non-zero u32`);
  }
  const rng = new Xorshift32(1);
  t.equal(rng.next(), 270369, 'xorshift32(1): 1 ^ 1<<13 = 8193, ^ >>17 = 8193, ^ <<5 = 270369');
  t.not(streamSeed(7, 0), streamSeed(7, 1));
  const s = stressStream(99, 0, 10_000, 64);
  t.equal(s.holds + s.puts, 10_000);
  t.ok(s.holds >= s.puts && s.holds - s.puts <= 64, 'a stream never puts more than it held, nor holds more than the cap');
  const big = stressStream(99, 0, 1_000_000, 100_000);
  t.ok(big.holds - big.puts > 99_000, `a large cap is reached and ridden: ${big.holds - big.puts} held at the end`);
});

t.test('racing reader: the envelope is wide on a per-CPU kernel, the true range on refcount_t', async (t) => {
  t.same(trueRange(8, 16), { lo: 8, hi: 26 });
  t.same(readingEnvelope('pcpu', 8, 1000, 16), { lo: -992, hi: 1008 });
  t.same(readingEnvelope('refcount', 8, 1000, 16), { lo: 8, hi: 26 });
  t.ok(within({ lo: -992, hi: 1008 }, -8, 25));
  t.notOk(within({ lo: 8, hi: 26 }, -8, 25), 'a reading of -8 is no value the count ever had');
  t.same(parseRace('ops 200000 window 16 base 8 reads 204648 min -8 max 25 outside 3\n'), { ops: 200000, window: 16, base: 8, reads: 204648, min: -8, max: 25, outside: 3 });
  t.throws(() => parseRace('ops x'), /race: not understood/);
});

t.test('meminfo: the Percpu line in bytes', async (t) => {
  t.equal(parseMeminfoPercpu('MemTotal:  230000 kB\nPercpu:           10752 kB\nHugePages_Total:  0\n'), 10752 * 1024);
  t.throws(() => parseMeminfoPercpu('MemTotal: 1 kB\n'), /no "Percpu: N kB" line/);
});

const topo = { nrCpuIds: 4, possible: [0, 1, 2, 3], online: [0, 1] };

t.test('imbalance: silent on per-CPU counters, WARN and saturation on refcount_t, the tracker warns too', async (t) => {
  const pcpu = new DeviceModel('d', 'pcpu', topo);
  pcpu.alloc(0);
  pcpu.putUnowned(0);
  t.equal(pcpu.predict().refcnt, 0, 'per-CPU: the sum drops to 0');
  pcpu.free();
  t.same(pcpu.expectedWarnings(), [], 'per-CPU: not a word');

  const rc = new DeviceModel('d', 'refcount', topo);
  rc.alloc(0);
  rc.putUnowned(0);
  t.equal(rc.predict().refcnt, -1073741824, 'refcount_t: saturated');
  rc.free();
  t.same(rc.expectedWarnings(), ['refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c']);

  const tr = new DeviceModel('d', 'pcpu', topo, true);
  tr.alloc(0);
  tr.putUnowned(0);
  t.equal(tr.predict().refcnt, 0, 'tracker: the per-CPU sum drops to 0 as well');
  tr.free();
  t.same(tr.expectedWarnings(), ['refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c', 'WARNING at lib/ref_tracker.c'], 'no_tracker hits 0, and free_netdev finds it not at 1');

  const ok = new DeviceModel('d', 'pcpu', topo, true);
  ok.alloc(0);
  ok.hold(1, 3);
  ok.put(0, 3);
  ok.free();
  t.same(ok.expectedWarnings(), [], 'balanced holds and puts leave the tracker quiet');
});
