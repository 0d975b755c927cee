/**
 * Parsers for what the guest prints during a benchmark: the module's
 * bench/result file, the flood program's line and /proc/net/stat/rt_cache.
 * Pure: text in, typed values out; a malformed text is a thrown Error
 * naming the line.
 */

/** The module's modes (kmod/bench.c): what one "pair" is. */
export const BENCH_MODES = ['dev_hold', 'atomic', 'refcount', 'percpu'] as const;
export type BenchMode = (typeof BENCH_MODES)[number];

export const MODE_MEANING: Record<BenchMode, string> = {
  dev_hold: "the running kernel's dev_hold()+dev_put() on one device",
  atomic: 'atomic_inc+atomic_dec on one shared atomic_t (the pre-2010 dev_hold)',
  refcount: 'refcount_inc+refcount_dec on one shared refcount_t (dev_hold with CONFIG_PCPU_DEV_REFCNT=n)',
  percpu: 'this_cpu_inc+this_cpu_dec on a per-CPU int (the 2010 dev_hold, whatever the config)',
};

export interface BenchCpu {
  cpu: number;
  pairs: number;
  /** Nanoseconds this CPU's worker ran (its own clock, start to last batch). */
  ns: number;
}

/** One run of one point: `run MODE CPUS MSEC` and its result file. */
export interface BenchSample {
  mode: BenchMode;
  variant: string;
  cpus: number;
  msec: number;
  perCpu: BenchCpu[];
  pairs: number;
  /** netdev_refcnt_read() of the bench device after the run: 1 when every hold was put. */
  refcnt: number;
}

function isMode(s: string): s is BenchMode {
  return (BENCH_MODES as readonly string[]).includes(s);
}

function num(word: string | undefined, line: string): number {
  if (word === undefined || !/^-?\d+$/.test(word)) throw new Error(`bench result: expected a number in "${line}"`);
  return Number(word);
}

export function parseBenchResult(text: string): BenchSample {
  const fields = new Map<string, string>();
  const perCpu: BenchCpu[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const w = line.split(/\s+/);
    if (w[0] === 'cpu') {
      if (w.length !== 6 || w[2] !== 'pairs' || w[4] !== 'ns') throw new Error(`bench result: bad cpu line "${line}"`);
      perCpu.push({ cpu: num(w[1], line), pairs: num(w[3], line), ns: num(w[5], line) });
    } else if (w.length === 2 && w[0] && w[1]) {
      fields.set(w[0], w[1]);
    } else {
      throw new Error(`bench result: unexpected line "${line}"`);
    }
  }
  const need = (k: string): string => {
    const v = fields.get(k);
    if (v === undefined) throw new Error(`bench result: no "${k}" line (is a run done? the file is empty before the first)`);
    return v;
  };
  const mode = need('mode');
  if (!isMode(mode)) throw new Error(`bench result: unknown mode "${mode}"`);
  const sample: BenchSample = {
    mode,
    variant: need('variant'),
    cpus: num(need('cpus'), 'cpus'),
    msec: num(need('msec'), 'msec'),
    perCpu,
    pairs: num(need('pairs'), 'pairs'),
    refcnt: num(need('refcnt'), 'refcnt'),
  };
  if (perCpu.length !== sample.cpus) throw new Error(`bench result: ${perCpu.length} cpu lines for cpus ${sample.cpus}`);
  if (perCpu.some((c) => c.ns <= 0 || c.pairs <= 0)) throw new Error('bench result: a CPU ran no pairs (its worker never got the CPU)');
  return sample;
}

/** Total pairs per second: each CPU's own rate, summed. */
export function pairsPerSec(s: BenchSample): number {
  return s.perCpu.reduce((sum, c) => sum + (c.pairs / c.ns) * 1e9, 0);
}

/** Nanoseconds per pair on one CPU, averaged over the CPUs of the run. */
export function nsPerPair(s: BenchSample): number {
  return s.perCpu.reduce((sum, c) => sum + c.ns / c.pairs, 0) / s.perCpu.length;
}

/** The flood program's line (vm/guest/flood.c). */
export interface FloodSample {
  threads: number;
  packets: number;
  wallNs: number;
  sysUs: number;
  userUs: number;
  failed: boolean;
}

export function parseFlood(text: string): FloodSample {
  const line = text.split('\n').find((l) => l.startsWith('threads ')) ?? '';
  const m = /^threads (\d+) packets (\d+) wall_ns (\d+) sys_us (\d+) user_us (\d+) failed (\d)$/.exec(line.trim());
  if (!m) throw new Error(`flood: unexpected output "${text.trim().slice(0, 200)}"`);
  return {
    threads: Number(m[1]),
    packets: Number(m[2]),
    wallNs: Number(m[3]),
    sysUs: Number(m[4]),
    userUs: Number(m[5]),
    failed: m[6] !== '0',
  };
}

/**
 * The sum over CPUs of one column of /proc/net/stat/rt_cache (a header line,
 * then one line of hex numbers per possible CPU). out_slow_tot counts the
 * output routes built afresh (net/ipv4/route.c, right after rt_dst_alloc).
 */
export function rtCacheColumn(text: string, column: string): number {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const header = (lines[0] ?? '').split(/\s+/);
  const i = header.indexOf(column);
  if (i < 0) throw new Error(`rt_cache: no column "${column}" in "${lines[0] ?? ''}"`);
  let sum = 0;
  for (const l of lines.slice(1)) {
    const v = l.split(/\s+/)[i];
    if (v === undefined || !/^[0-9a-f]+$/i.test(v)) throw new Error(`rt_cache: bad line "${l}"`);
    sum += parseInt(v, 16);
  }
  return sum;
}
