/**
 * The benchmark's JSON report and the pure steps that build it from the
 * samples: points (mode x CPUs, repeats summarised) and comparisons
 * (ratio of medians, real only when the ranges do not overlap).
 */
import type { ScenarioWait } from './floor.js';
import { BENCH_MODES, nsPerPair, pairsPerSec, type BenchMode, type BenchSample, type FloodSample } from './parse.js';
import { compareSpreads, spread, type Spread, type Verdict } from './stats.js';

export interface BenchPoint {
  mode: BenchMode;
  cpus: number;
  pairsPerSec: Spread;
  nsPerPair: Spread;
  /** Every repeat, as the module reported it. */
  samples: BenchSample[];
}

export interface FloodPoint {
  threads: number;
  packetsPerThread: number;
  /** Children's system time per run (seconds), as the 2010 commit reported it. */
  sysSec: Spread;
  /** System time per packet, in microseconds. */
  sysUsPerPacket: Spread;
  wallSec: Spread;
  /** Routes built afresh per packet sent (rt_cache out_slow_tot delta / packets): 1 = a device hold+put per packet. */
  routesPerPacket: Spread;
  samples: FloodSample[];
}

export interface FloodReport {
  device: string;
  how: string;
  points: FloodPoint[];
}

/** One kernel's results: everything measured in one boot. */
export interface ChannelTiming {
  /** "virtio-serial, C agent", ... */
  way: string;
  spread: Spread;
}

export interface KernelBench {
  kernelArg: string | null;
  release: string;
  image: string;
  variant: string;
  accel: { accel: string; reason: string };
  target: string;
  onlineCpus: number[];
  msec: number;
  runs: number;
  points: BenchPoint[];
  flood: FloodReport | null;
  /** Why there is no flood, when there is none. */
  floodSkipped: string | null;
  consoleLog: string;
  /** Was the bench device's count back to 1 after every run (every hold put)? */
  balanced: boolean;
  /**
   * Milliseconds of one scenario step in the command channel (a hold, then
   * a read of the devices file), each way the guest can be reached, the
   * way scenarios use first. Absent in reports of older versions.
   */
  roundTrip?: ChannelTiming[];
}

export interface Comparison {
  kernel: string;
  /** 'pairs/s': higher is faster; 'sys us/packet' (the flood): lower is faster. */
  metric: 'pairs/s' | 'sys us/packet';
  cpus: number;
  a: string;
  b: string;
  /** median(a) / median(b) of the metric. */
  ratio: number;
  verdict: Verdict;
}

export interface FloorReport {
  /** Bare boot of the same kernel with an init that only powers off: spawn to QEMU exit. */
  floorMs: Spread;
  vmTest: {
    ok: boolean;
    report: string;
    phasesMs: Record<string, number>;
    /** The claims' waits of that run, scenario by scenario (absent in older reports). */
    waits?: ScenarioWait[];
  }[];
  /** median over vm-test runs of each phase, divided by the floor's median. */
  ratios: Record<string, number>;
}

export interface BenchReport {
  tool: string;
  startedAt: string;
  machine: { cpuModel: string; hostCpus: number; loadAvgStart: number[]; loadAvgEnd: number[] | null; note: string };
  settings: { smp: number; runs: number; msec: number; floodPackets: number; floodRuns: number; kernels: (string | null)[] };
  kernels: KernelBench[];
  comparisons: Comparison[];
  floor: FloorReport | null;
  error: string | null;
  files: { dir: string; json: string; svg: string; table: string };
}

export function summarizePoints(samples: readonly BenchSample[]): BenchPoint[] {
  const points: BenchPoint[] = [];
  for (const mode of BENCH_MODES) {
    const cpuCounts = [...new Set(samples.filter((s) => s.mode === mode).map((s) => s.cpus))].sort((a, b) => a - b);
    for (const cpus of cpuCounts) {
      const mine = samples.filter((s) => s.mode === mode && s.cpus === cpus);
      points.push({ mode, cpus, pairsPerSec: spread(mine.map(pairsPerSec)), nsPerPair: spread(mine.map(nsPerPair)), samples: mine });
    }
  }
  return points;
}

export function summarizeFlood(samples: readonly FloodSample[], routes: readonly number[]): FloodPoint[] {
  const byThreads = [...new Set(samples.map((s) => s.threads))].sort((a, b) => a - b);
  return byThreads.map((threads) => {
    const idx = samples.map((s, i) => (s.threads === threads ? i : -1)).filter((i) => i >= 0);
    const mine = idx.map((i) => samples[i] as FloodSample);
    const packets = (s: FloodSample): number => s.threads * s.packets;
    return {
      threads,
      packetsPerThread: mine[0]?.packets ?? 0,
      sysSec: spread(mine.map((s) => s.sysUs / 1e6)),
      sysUsPerPacket: spread(mine.map((s) => s.sysUs / packets(s))),
      wallSec: spread(mine.map((s) => s.wallNs / 1e9)),
      routesPerPacket: spread(idx.map((i) => (routes[i] ?? 0) / packets(samples[i] as FloodSample))),
      samples: mine,
    };
  });
}

function kernelName(k: KernelBench): string {
  // A name the user gave (a variant, pcpu+patch) says more than the mechanism; a path says less.
  const name = k.kernelArg && !k.kernelArg.includes('/') ? k.kernelArg : k.variant;
  return `${k.release} (${name})`;
}

function compare(kernel: string, cpus: number, a: string, pa: BenchPoint, b: string, pb: BenchPoint): Comparison {
  return { kernel, metric: 'pairs/s', cpus, a, b, ratio: pa.pairsPerSec.median / pb.pairsPerSec.median, verdict: compareSpreads(pa.pairsPerSec, pb.pairsPerSec) };
}

/**
 * Within each kernel, at each CPU count: the real dev_hold and the per-CPU
 * scheme against the two shared counters. Across kernels: the real dev_hold
 * of each kernel against the first's.
 */
export function comparisons(kernels: readonly KernelBench[]): Comparison[] {
  const out: Comparison[] = [];
  const pairs: [BenchMode, BenchMode][] = [
    ['dev_hold', 'atomic'],
    ['dev_hold', 'refcount'],
    ['percpu', 'atomic'],
  ];
  for (const k of kernels) {
    const cpuCounts = [...new Set(k.points.map((p) => p.cpus))];
    for (const cpus of cpuCounts) {
      for (const [a, b] of pairs) {
        const pa = k.points.find((p) => p.mode === a && p.cpus === cpus);
        const pb = k.points.find((p) => p.mode === b && p.cpus === cpus);
        if (pa && pb) out.push(compare(kernelName(k), cpus, a, pa, b, pb));
      }
    }
  }
  const first = kernels[0];
  for (const k of kernels.slice(1)) {
    if (!first) break;
    for (const pa of k.points.filter((p) => p.mode === 'dev_hold')) {
      const pb = first.points.find((p) => p.mode === 'dev_hold' && p.cpus === pa.cpus);
      if (pb) out.push(compare('across kernels', pa.cpus, `dev_hold on ${kernelName(k)}`, pa, `dev_hold on ${kernelName(first)}`, pb));
    }
    // The flood compares only through the same device: dummy0 and lo cost differently per packet.
    if (!k.flood || !first.flood || k.flood.device !== first.flood.device) continue;
    for (const fa of k.flood.points) {
      const fb = first.flood.points.find((p) => p.threads === fa.threads);
      if (!fb) continue;
      out.push({
        kernel: 'across kernels',
        metric: 'sys us/packet',
        cpus: fa.threads,
        a: `flood on ${kernelName(k)}`,
        b: `flood on ${kernelName(first)}`,
        ratio: fa.sysUsPerPacket.median / fb.sysUsPerPacket.median,
        verdict: compareSpreads(fa.sysUsPerPacket, fb.sysUsPerPacket),
      });
    }
  }
  return out;
}

export function floorRatios(floorMs: Spread, vmTestPhases: readonly Record<string, number>[]): Record<string, number> {
  const ratios: Record<string, number> = {};
  const keys = [...new Set(vmTestPhases.flatMap((p) => Object.keys(p)))];
  for (const k of keys) {
    const vals = vmTestPhases.map((p) => p[k]).filter((v): v is number => typeof v === 'number');
    if (vals.length) ratios[k] = spread(vals).median / floorMs.median;
  }
  return ratios;
}
