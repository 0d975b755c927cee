/** The benchmark's table for people (stdout). Pure: the report in, text out. */
import type { BenchReport, Comparison, KernelBench } from './report.js';
import type { Spread } from './stats.js';

const fmt = (v: number, digits: number): string => v.toFixed(digits);

function range(s: Spread, scale: number, digits: number): string {
  return `${fmt(s.median / scale, digits)} [${fmt(s.min / scale, digits)}-${fmt(s.max / scale, digits)}]`;
}

export function accelNote(accel: string): string {
  return accel === 'kvm'
    ? 'KVM: the numbers are the hardware\'s (inside a VM)'
    : `${accel.toUpperCase()}: every instruction is emulated; only ratios within one run mean anything`;
}

function kernelTable(k: KernelBench): string[] {
  const lines = [
    `kernel ${k.release}, variant ${k.variant}, ${k.target}, online CPUs ${k.onlineCpus.join(',')}`,
    `accelerator: ${accelNote(k.accel.accel)}`,
    `${k.runs} runs of ${k.msec} ms per point; median [min-max]`,
    '',
    `${'mode'.padEnd(9)} ${'cpus'.padStart(4)}  ${'M pairs/s (all CPUs)'.padEnd(24)} ${'ns/pair per CPU'.padEnd(22)}`,
  ];
  for (const p of k.points) {
    lines.push(`${p.mode.padEnd(9)} ${String(p.cpus).padStart(4)}  ${range(p.pairsPerSec, 1e6, 1).padEnd(24)} ${range(p.nsPerPair, 1, 2).padEnd(22)}`);
  }
  if (!k.balanced) lines.push('WARNING: the bench device did not read 1 after every run: a hold was not put');
  if (k.roundTrip?.length) {
    const ms = (x: Spread): string => `${x.median.toFixed(2)} ms [${x.min.toFixed(2)}-${x.max.toFixed(2)}]`;
    const width = Math.max(...k.roundTrip.map((r) => r.way.length));
    lines.push('', `command channel, one hold + one devices read (${k.roundTrip[0]?.spread.n} each, alternated), median [min-max]:`);
    for (const r of k.roundTrip) lines.push(`  ${r.way.padEnd(width)}  ${ms(r.spread)}`);
  }
  return lines;
}

function verdictWord(c: Comparison): string {
  if (c.verdict === 'overlap') return 'ranges overlap: no real difference';
  return `real (ranges do not overlap)`;
}

function comparisonLines(cs: readonly Comparison[]): string[] {
  if (cs.length === 0) return [];
  const lines = ['', 'comparisons (ratio of medians; pairs/s: higher is faster, sys us/packet: lower is faster):'];
  for (const c of cs) {
    const where = c.kernel === 'across kernels' ? '' : `  [${c.kernel}]`;
    lines.push(`  ${c.cpus} CPU${c.cpus > 1 ? 's' : ''}, ${c.metric}: ${c.a} / ${c.b} = ${fmt(c.ratio, 2)}x, ${verdictWord(c)}${where}`);
  }
  return lines;
}

function floodLines(k: KernelBench): string[] {
  if (!k.flood) return ['', `flood: skipped (${k.floodSkipped ?? 'not run'})`];
  const lines = ['', `flood on ${k.release} (${k.variant}): ${k.flood.how}`];
  lines.push(`${'threads'.padStart(7)}  ${'packets'.padStart(8)}  ${'system time s'.padEnd(22)} ${'sys us/packet'.padEnd(22)} ${'wall s'.padEnd(22)} routes/packet`);
  for (const p of k.flood.points) {
    lines.push(
      `${String(p.threads).padStart(7)}  ${String(p.threads * p.packetsPerThread).padStart(8)}  ${range(p.sysSec, 1, 3).padEnd(22)} ${range(p.sysUsPerPacket, 1, 2).padEnd(22)} ${range(p.wallSec, 1, 3).padEnd(22)} ${fmt(p.routesPerPacket.median, 3)}`,
    );
  }
  return lines;
}

/** The phases as the table names them (vm-test's report keys otherwise). */
const PHASE_WORDS: Record<string, string> = {
  claimWaits: "of which the claims' waits",
  scenariosOwn: 'the scenarios less those waits',
};

function floorLines(r: BenchReport): string[] {
  const f = r.floor;
  if (!f) return ['', 'harness floor: skipped (--skip-floor)'];
  const lines = ['', `harness floor: bare boot + power-off of the same kernel (init does only poweroff -f): ${range(f.floorMs, 1000, 2)} s over ${f.floorMs.n} boots`];
  for (const v of f.vmTest) {
    const ph = Object.entries(v.phasesMs).map(([k, ms]) => `${PHASE_WORDS[k] ?? k} ${fmt(ms / 1000, 2)} s`).join(', ');
    lines.push(`make vm-test (${v.ok ? 'passed' : 'FAILED'}): ${ph}`);
  }
  const ratios = Object.entries(f.ratios).map(([k, x]) => `${PHASE_WORDS[k] ?? k} ${fmt(x, 2)}x`).join(', ');
  lines.push(`vm-test phase / floor (medians): ${ratios}`);
  const last = f.vmTest[f.vmTest.length - 1];
  if (last?.waits?.length) {
    lines.push(`the claims' own waits in the last run (the kernel's timers and work; no harness can hurry them):`);
    const width = Math.max(...last.waits.map((w) => w.scenario.length));
    for (const w of last.waits) lines.push(`  ${w.scenario.padEnd(width)}  ${fmt(w.ms / 1000, 2).padStart(5)} s  ${w.why}`);
  }
  return lines;
}

/**
 * Under MTTCG each vCPU is a host thread: with more vCPUs than host cores,
 * the points above the core count time the host's scheduler sharing cores,
 * not cache lines bouncing between them.
 */
export function oversubscribed(r: Pick<BenchReport, 'settings' | 'machine'>): string[] {
  if (r.settings.smp <= r.machine.hostCpus) return [];
  return [`WARNING: ${r.settings.smp} guest CPUs on ${r.machine.hostCpus} host cores: the points above ${r.machine.hostCpus} CPUs measure vCPUs taking turns on a core, not the counters' scaling; run --smp ${r.machine.hostCpus} here, or on a host with ${r.settings.smp} cores`];
}

export function formatBenchTable(r: BenchReport): string {
  const load = (l: number[] | null): string => (l ? l.join(' ') : '?');
  const lines: string[] = [
    `machine: ${r.machine.cpuModel}, ${r.machine.hostCpus} host CPUs; host load average ${load(r.machine.loadAvgStart)} at start, ${load(r.machine.loadAvgEnd)} at end`,
    `(anything else running on the host, e.g. kernel builds, shows up as noise: read the ranges, not just the medians)`,
    ...oversubscribed(r),
  ];
  for (const k of r.kernels) lines.push('', ...kernelTable(k));
  lines.push(...comparisonLines(r.comparisons));
  for (const k of r.kernels) lines.push(...floodLines(k));
  lines.push(...floorLines(r));
  if (r.error) lines.push('', `ERROR: ${r.error}`);
  return `${lines.join('\n')}\n`;
}
