/**
 * Two benchmark runs side by side (make compare A B on bench.json files):
 * per kernel, per point, B's median against A's with both ranges, and
 * whether the change is real by the benchmark's own rule (the ranges do not
 * overlap). A real slowdown is a regression. Pure.
 */
import type { BenchReport, KernelBench } from './report.js';
import { compareSpreads, type Spread } from './stats.js';

export interface BenchChange {
  /** The kernel both runs measured (paired by name). */
  kernel: string;
  /** 'dev_hold, 2 CPUs', 'flood, 1 thread'. */
  point: string;
  /** pairs/s: higher is faster; sys us/packet (the flood): lower is faster. */
  metric: 'pairs/s' | 'sys us/packet';
  a: Spread;
  b: Spread;
  /** median(B) / median(A). */
  ratio: number;
  /** Real only when the ranges do not overlap. */
  verdict: 'faster' | 'slower' | 'same';
}

export interface BenchComparison {
  changes: BenchChange[];
  /** Kernels only one run measured. */
  onlyA: string[];
  onlyB: string[];
  slower: number;
  faster: number;
  /** How the two runs were measured differently (run length, repeats, accelerator): each can move the numbers by itself. */
  differences: string[];
}

/** Settings that differ between the runs, as "what: A vs B". */
function settingDifferences(a: BenchReport, b: BenchReport): string[] {
  const out: string[] = [];
  const keys = ['smp', 'runs', 'msec', 'floodPackets', 'floodRuns'] as const;
  for (const k of keys) if (a.settings[k] !== b.settings[k]) out.push(`${k}: ${a.settings[k]} vs ${b.settings[k]}`);
  const accel = (r: BenchReport): string => [...new Set(r.kernels.map((k) => k.accel.accel))].join(',');
  if (accel(a) !== accel(b)) out.push(`accelerator: ${accel(a)} vs ${accel(b)}`);
  return out;
}

/** What a kernel is called in a bench report: the name it was given (a variant, pcpu+patch), else its release and mechanism. */
export function benchKernelName(k: KernelBench): string {
  return k.kernelArg && !k.kernelArg.includes('/') ? k.kernelArg : `${k.release} (${k.variant})`;
}

function change(kernel: string, point: string, metric: BenchChange['metric'], a: Spread, b: Spread): BenchChange {
  const v = compareSpreads(b, a);
  const higherIsFaster = metric === 'pairs/s';
  const verdict = v === 'overlap' ? 'same' : (v === 'higher') === higherIsFaster ? 'faster' : 'slower';
  return { kernel, point, metric, a, b, ratio: b.median / a.median, verdict };
}

function kernelChanges(name: string, ka: KernelBench, kb: KernelBench): BenchChange[] {
  const out: BenchChange[] = [];
  for (const pb of kb.points) {
    const pa = ka.points.find((p) => p.mode === pb.mode && p.cpus === pb.cpus);
    if (pa) out.push(change(name, `${pb.mode}, ${pb.cpus} CPU${pb.cpus === 1 ? '' : 's'}`, 'pairs/s', pa.pairsPerSec, pb.pairsPerSec));
  }
  // The flood compares only through the same device: dummy0 and lo cost differently per packet.
  if (ka.flood && kb.flood && ka.flood.device === kb.flood.device) {
    for (const fb of kb.flood.points) {
      const fa = ka.flood.points.find((p) => p.threads === fb.threads);
      if (fa) out.push(change(name, `flood, ${fb.threads} thread${fb.threads === 1 ? '' : 's'}`, 'sys us/packet', fa.sysUsPerPacket, fb.sysUsPerPacket));
    }
  }
  return out;
}

/**
 * Kernels are paired by name; two runs of one kernel each are paired
 * whatever their names (last week's stock kernel against today's).
 */
export function compareBench(a: BenchReport, b: BenchReport): BenchComparison {
  const pairs: [string, KernelBench, KernelBench][] = [];
  const [one, other] = [a.kernels[0], b.kernels[0]];
  if (a.kernels.length === 1 && b.kernels.length === 1 && one && other) {
    const [na, nb] = [benchKernelName(one), benchKernelName(other)];
    pairs.push([na === nb ? na : `${na} / ${nb}`, one, other]);
  } else {
    for (const kb of b.kernels) {
      const ka = a.kernels.find((k) => benchKernelName(k) === benchKernelName(kb));
      if (ka) pairs.push([benchKernelName(kb), ka, kb]);
    }
  }
  const paired = (k: KernelBench): boolean => pairs.some(([, x, y]) => x === k || y === k);
  const changes = pairs.flatMap(([name, ka, kb]) => kernelChanges(name, ka, kb));
  return {
    changes,
    onlyA: a.kernels.filter((k) => !paired(k)).map(benchKernelName),
    onlyB: b.kernels.filter((k) => !paired(k)).map(benchKernelName),
    slower: changes.filter((c) => c.verdict === 'slower').length,
    faster: changes.filter((c) => c.verdict === 'faster').length,
    differences: settingDifferences(a, b),
  };
}

function shown(s: Spread, metric: BenchChange['metric']): string {
  const [scale, digits] = metric === 'pairs/s' ? [1e6, 1] : [1, 3];
  const f = (v: number): string => (v / scale).toFixed(digits);
  return `${f(s.median)} [${f(s.min)}-${f(s.max)}]`;
}

/** A Markdown table of the changes, then the counts. */
export function benchComparisonTable(c: BenchComparison): string {
  const lines = [
    '| kernel | point | A | B | B/A | change |',
    '|---|---|---|---|---|---|',
    ...c.changes.map((x) => {
      const unit = x.metric === 'pairs/s' ? 'M pairs/s' : 'sys us/packet';
      const word = x.verdict === 'same' ? 'same (ranges overlap)' : `**${x.verdict}** (real: ranges apart)`;
      return `| ${x.kernel} | ${x.point} | ${shown(x.a, x.metric)} ${unit} | ${shown(x.b, x.metric)} ${unit} | ${x.ratio.toFixed(2)}x | ${word} |`;
    }),
  ];
  if (c.onlyA.length) lines.push('', `only in A (gone): ${c.onlyA.join(', ')}`);
  if (c.onlyB.length) lines.push('', `only in B (new): ${c.onlyB.join(', ')}`);
  if (c.differences.length) lines.push('', `measured differently (each can move the numbers by itself): ${c.differences.join('; ')}`);
  lines.push('', `${c.slower} slower, ${c.faster} faster, ${c.changes.length - c.slower - c.faster} the same, of ${c.changes.length} points (median [min-max] of each run's repeats)`);
  return lines.join('\n');
}
