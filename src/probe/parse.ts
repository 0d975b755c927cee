/**
 * Parsers for refprobe's debugfs files (kmod/README.md). Pure: they take the
 * text a `cat` printed and return typed readings, or throw saying which line
 * was not understood.
 */
import { parseCpuList } from '../model/cpumask.js';
import type { DeviceReading, RegState, Topology, UnregState, Variant } from '../model/types.js';

export interface ProbeInfo {
  release: string;
  variant: Variant;
  tracker: boolean;
  topology: Topology;
  maxCount: number;
  faultHoldTwice: boolean;
}

const REG_STATES: readonly RegState[] = ['uninitialized', 'registered', 'unregistering', 'unregistered', 'released', 'dummy'];
const UNREG_STATES: readonly UnregState[] = ['none', 'pending', 'done'];

export class ParseError extends Error {}

function keyValues(text: string, sep: RegExp): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = sep.exec(line.trim());
    if (!m || m[1] === undefined || m[2] === undefined) throw new ParseError(`not "key value": "${line}"`);
    kv.set(m[1], m[2]);
  }
  return kv;
}

function need(kv: Map<string, string>, key: string, where: string): string {
  const v = kv.get(key);
  if (v === undefined) throw new ParseError(`${where}: no "${key}"`);
  return v;
}

function int(text: string, what: string): number {
  if (!/^-?\d+$/.test(text)) throw new ParseError(`${what}: "${text}" is not an integer`);
  return Number(text);
}

/** /sys/kernel/debug/refprobe/info */
export function parseInfo(text: string): ProbeInfo {
  const kv = keyValues(text, /^(\S+)\s+(.*)$/);
  const variant = need(kv, 'variant', 'info');
  if (variant !== 'pcpu' && variant !== 'refcount') throw new ParseError(`info: unknown variant "${variant}"`);
  return {
    release: need(kv, 'release', 'info'),
    variant,
    tracker: need(kv, 'tracker', 'info') === '1',
    topology: {
      nrCpuIds: int(need(kv, 'nr_cpu_ids', 'info'), 'nr_cpu_ids'),
      possible: parseCpuList(need(kv, 'possible', 'info')),
      online: parseCpuList(need(kv, 'online', 'info')),
    },
    maxCount: int(need(kv, 'max_count', 'info'), 'max_count'),
    faultHoldTwice: need(kv, 'fault_hold_twice', 'info') === '1',
  };
}

function parsePcpu(text: string, where: string): Map<number, number> | null {
  if (text === 'none') return null;
  const pcpu = new Map<number, number>();
  for (const pair of text.split(',')) {
    const m = /^(\d+):(-?\d+)$/.exec(pair);
    if (!m) throw new ParseError(`${where}: bad per-CPU entry "${pair}"`);
    pcpu.set(Number(m[1]), Number(m[2]));
  }
  return pcpu;
}

/** unreg_us=-1 until an unregister the module started has returned. */
const unregUs = (us: number): number | null => (us < 0 ? null : us);

/** One line of /sys/kernel/debug/refprobe/devices. */
export function parseDeviceLine(line: string): DeviceReading {
  const [name, ...fields] = line.trim().split(/\s+/);
  if (!name) throw new ParseError('devices: empty line');
  const kv = new Map<string, string>();
  for (const f of fields) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new ParseError(`devices: "${f}" is not key=value in "${line}"`);
    kv.set(f.slice(0, eq), f.slice(eq + 1));
  }
  const where = `devices: ${name}`;
  const reg = need(kv, 'reg', where) as RegState;
  const unreg = need(kv, 'unreg', where) as UnregState;
  if (!REG_STATES.includes(reg)) throw new ParseError(`${where}: unknown reg state "${reg}"`);
  if (!UNREG_STATES.includes(unreg)) throw new ParseError(`${where}: unknown unreg state "${unreg}"`);
  return {
    name,
    reg,
    unreg,
    held: int(need(kv, 'held', where), `${where} held`),
    // Older modules had no tracked= field: none tracked then.
    tracked: kv.get('tracked') === '1',
    nheld: int(need(kv, 'nheld', where), `${where} nheld`),
    nlate: int(need(kv, 'nlate', where), `${where} nlate`),
    unregEvents: int(need(kv, 'unreg_events', where), `${where} unreg_events`),
    unregUs: unregUs(int(need(kv, 'unreg_us', where), `${where} unreg_us`)),
    refcnt: need(kv, 'refcnt', where) === 'none' ? null : int(need(kv, 'refcnt', where), `${where} refcnt`),
    pcpu: parsePcpu(need(kv, 'pcpu', where), where),
  };
}

/** /sys/kernel/debug/refprobe/devices: every device the module owns, by name. */
export function parseDevices(text: string): Map<string, DeviceReading> {
  const devices = new Map<string, DeviceReading>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const d = parseDeviceLine(line);
    devices.set(d.name, d);
  }
  return devices;
}

export interface StressCpuResult {
  holds: number;
  puts: number;
  startNs: bigint;
  endNs: bigint;
}

export interface StressResult {
  seed: number;
  ops: number;
  /** The most references one stream held at once. */
  cap: number;
  cpus: Map<number, StressCpuResult>;
}

/** /sys/kernel/debug/refprobe/stress: the last stress run, one line per CPU. */
export function parseStress(text: string): StressResult {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = /^seed (\d+) ops (\d+) cap (\d+)$/.exec(lines[0] ?? '');
  if (!head) throw new ParseError(`stress: no "seed S ops N cap C" line in "${text.slice(0, 80)}"`);
  const cpus = new Map<number, StressCpuResult>();
  for (const line of lines.slice(1)) {
    const m = /^cpu (\d+) holds (\d+) puts (\d+) start_ns (\d+) end_ns (\d+)$/.exec(line);
    if (!m) throw new ParseError(`stress: bad line "${line}"`);
    cpus.set(Number(m[1]), { holds: Number(m[2]), puts: Number(m[3]), startNs: BigInt(m[4] as string), endNs: BigInt(m[5] as string) });
  }
  return { seed: Number(head[1]), ops: Number(head[2]), cap: Number(head[3]), cpus };
}

export interface RaceResult {
  ops: number;
  window: number;
  base: number;
  reads: number;
  min: number;
  max: number;
  outside: number;
}

/** /sys/kernel/debug/refprobe/race: the last race run. */
export function parseRace(text: string): RaceResult {
  const m = /^ops (\d+) window (\d+) base (-?\d+) reads (\d+) min (-?\d+) max (-?\d+) outside (\d+)$/.exec(text.trim());
  if (!m) throw new ParseError(`race: not understood: "${text.trim().slice(0, 120)}"`);
  const [ops, window, base, reads, min, max, outside] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return { ops, window, base, reads, min, max, outside };
}

/** What one interrupt context did in an irq run (kmod/irq.c). */
export interface IrqSide {
  /** Holds (hardirq) or puts (softirq) done. */
  ops: number;
  /** Interrupts or tasklet runs, with or without an operation. */
  runs: number;
  /** Operations that ran where in_hardirq() / in_serving_softirq() says they did. */
  inContext: number;
  /** Operations that interrupted the process-context loop itself. */
  onProcess: number;
  /** Operations done while the process-context kthread was inside its loop. */
  duringProcess: number;
}

export interface IrqResult {
  cpu: number;
  hard: number;
  soft: number;
  phold: number;
  pput: number;
  /**
   * Where the interrupts came from: IPIs from another CPU (the next sent
   * gapNs after one was handled), or a pinned hrtimer (its period, and
   * hrtimer_resolution: a tick without CONFIG_HIGH_RES_TIMERS).
   */
  source: { kind: 'ipi'; from: number; gapNs: number } | { kind: 'timer'; periodNs: number; resolutionNs: number };
  /** netdev_refcnt_read() just before the run. */
  base: number;
  timedOut: boolean;
  hardirq: IrqSide & { ns: number };
  /** threaded: softirqs run in a thread (CONFIG_PREEMPT_RT), so they preempt the loop rather than interrupt it. */
  softirq: IrqSide & { threaded: boolean };
  process: { holds: number; puts: number; rounds: number; ns: number };
  reader: { cpu: number; reads: number; min: number; max: number } | null;
}

/**
 * "TAG k v k v ...": the values of one line of the irq file, by key. The
 * first line's tag is its first key ("cpu 1 hard ...").
 */
function taggedLine(lines: readonly string[], tag: string): Map<string, number> {
  const line = lines.find((l) => l.startsWith(`${tag} `));
  if (line === undefined) throw new ParseError(`irq: no "${tag}" line`);
  const words = line.trim().split(/\s+/).slice(tag === 'cpu' ? 0 : 1);
  if (words.length % 2 !== 0) throw new ParseError(`irq: "${line}" is not "${tag} key value ..."`);
  const kv = new Map<string, number>();
  for (let i = 0; i < words.length; i += 2) kv.set(words[i] as string, int(words[i + 1] as string, `irq ${tag} ${words[i]}`));
  return kv;
}

function num(kv: Map<string, number>, key: string, tag: string): number {
  const v = kv.get(key);
  if (v === undefined) throw new ParseError(`irq: no "${key}" on the "${tag}" line`);
  return v;
}

function irqSide(lines: readonly string[], tag: 'hardirq' | 'softirq'): IrqSide {
  const kv = taggedLine(lines, tag);
  const hard = tag === 'hardirq';
  return {
    ops: num(kv, hard ? 'holds' : 'puts', tag),
    runs: num(kv, hard ? 'interrupts' : 'runs', tag),
    inContext: num(kv, hard ? 'in_hardirq' : 'in_softirq', tag),
    onProcess: num(kv, 'on_process', tag),
    duringProcess: num(kv, 'during_process', tag),
  };
}

/** /sys/kernel/debug/refprobe/irq: the last irq run. */
export function parseIrq(text: string): IrqResult {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new ParseError('irq: empty (no irq run yet)');
  const head = taggedLine(lines, 'cpu');
  const hardirq = taggedLine(lines, 'hardirq');
  const proc = taggedLine(lines, 'process');
  const none = lines.includes('reader none');
  const ipi = /^source ipi from (\d+) gap_ns (\d+)$/.exec(lines.find((l) => l.startsWith('source ')) ?? '');
  const timer = /^source timer period_ns (\d+) resolution_ns (\d+)$/.exec(lines.find((l) => l.startsWith('source ')) ?? '');
  if (!ipi && !timer) throw new ParseError('irq: no "source ipi from CPU gap_ns N" or "source timer period_ns N resolution_ns N" line');
  const reader = none ? null : taggedLine(lines, 'reader');
  return {
    cpu: num(head, 'cpu', 'cpu'),
    hard: num(head, 'hard', 'cpu'),
    soft: num(head, 'soft', 'cpu'),
    phold: num(head, 'phold', 'cpu'),
    pput: num(head, 'pput', 'cpu'),
    source: ipi ? { kind: 'ipi', from: Number(ipi[1]), gapNs: Number(ipi[2]) } : { kind: 'timer', periodNs: Number(timer?.[1]), resolutionNs: Number(timer?.[2]) },
    base: num(head, 'base', 'cpu'),
    timedOut: num(head, 'timed_out', 'cpu') !== 0,
    hardirq: { ...irqSide(lines, 'hardirq'), ns: num(hardirq, 'ns', 'hardirq') },
    // threaded is absent before the module said it (the saved fixtures): softirqs interrupt, as without PREEMPT_RT.
    softirq: { ...irqSide(lines, 'softirq'), threaded: taggedLine(lines, 'softirq').get('threaded') === 1 },
    process: { holds: num(proc, 'holds', 'process'), puts: num(proc, 'puts', 'process'), rounds: num(proc, 'rounds', 'process'), ns: num(proc, 'ns', 'process') },
    reader: reader ? { cpu: num(reader, 'cpu', 'reader'), reads: num(reader, 'reads', 'reader'), min: num(reader, 'min', 'reader'), max: num(reader, 'max', 'reader') } : null,
  };
}

/** The Percpu: line of /proc/meminfo, in bytes. */
export function parseMeminfoPercpu(text: string): number {
  const m = /^Percpu:\s+(\d+) kB$/m.exec(text);
  if (!m) throw new ParseError('meminfo: no "Percpu: N kB" line');
  return Number(m[1]) * 1024;
}

/**
 * The per-CPU allocator's unit count, from its boot report in the kernel log
 * (mm/percpu.c pcpu_dump_alloc_info, KERN_DEBUG, so in dmesg even when the
 * console is quiet): "pcpu-alloc: [0] 0 1 [0] 2 3 [0] 4 -" lists every unit
 * by group, a CPU number or "-" ("--" with two-digit CPU numbers) for a
 * unit no CPU uses. Units can exceed the
 * possible CPUs (5 possible -> 6 units, rounded up to the allocation atom),
 * and every alloc_percpu() reserves its size in every unit.
 */
export function parsePcpuUnits(dmesg: string): number {
  let units = 0;
  let seen = false;
  for (const raw of dmesg.split('\n')) {
    const line = raw.replace(/^\[\s*\d+\.\d+\]\s?/, '');
    const m = /^pcpu-alloc: (\[\d+\].*)$/.exec(line.trim());
    if (!m?.[1]) continue;
    seen = true;
    // An unused unit is "-", or "--" when CPU numbers take two digits.
    for (const tok of m[1].split(/\s+/)) if (/^(\d+|-+)$/.test(tok)) units++;
  }
  if (!seen) throw new ParseError('dmesg: no "pcpu-alloc: [group] cpu ..." lines (the boot log of the per-CPU allocator)');
  return units;
}
