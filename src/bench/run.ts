/**
 * One `bench` run: for each kernel, boot it with refprobe, run the
 * microbenchmark points (repeats interleaved, so a burst of noise from the
 * host hits every mode alike) and the packet flood; then the floor and
 * vm-test's phases. Writes JSON, SVG and the table. The judging is in the
 * pure parts (parse, stats, report, table, chart).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import { hostArch } from '../kernel/arch.js';
import { bootGuest, prepareGuest, type PreparedGuest, type QemuSettings } from '../backend/qemu/guest.js';
import { loadProbe, type Guest } from '../run/guest.js';
import { GUEST_MODULE_PATH } from '../initramfs/build.js';
import { scratchDir } from '../cache/scratch.js';
import { SerialAgent } from './serial-agent.js';
import { describeExit } from '../backend/qemu/qemu-target.js';
import type { AgentChannel } from '../backend/agent/agent-channel.js';
import type { VariantName } from '../kernel/variants.js';
import { rm } from 'node:fs/promises';
import { runStamp } from '../run/run-dir.js';
import { TargetError } from '../backend/target.js';
import { benchChart } from './chart.js';
import { floorBoot, timeVmTest } from './floor.js';
import { buildAgent } from '../initramfs/static-program.js';
import type { ChannelKind } from '../backend/qemu/command-channel.js';
import { buildBenchInitramfs, buildFloorInitramfs, buildFlood, findDummyModule, GUEST_DUMMY_PATH, GUEST_FLOOD_PATH } from './images.js';
import { BENCH_MODES, parseBenchResult, parseFlood, rtCacheColumn, type BenchSample, type FloodSample } from './parse.js';
import { comparisons, floorRatios, summarizeFlood, summarizePoints, type BenchReport, type ChannelTiming, type FloodReport, type KernelBench } from './report.js';
import { spread } from './stats.js';
import { DEBUGFS_DIR } from '../probe/client.js';
import { formatBenchTable } from './table.js';

/** What to measure, and on what guest. */
export interface BenchRequest {
  /** One entry per kernel to measure; null: the default kernel. `name` labels it in tables (--patch). */
  kernels: { kernel: string | null; kdir: string | null; name?: string }[];
  /** --patch FILE...: measure --base and the base with these patches, point by point. */
  patches: string[];
  base: VariantName;
  /** Guest CPUs: points for 1..smp (none possible but absent: the benchmark measures online ones). */
  smp: number;
  guest: QemuSettings;
  bootTimeoutSec: number;
  commandTimeoutSec: number;
  runs: number;
  msec: number;
  floodPackets: number;
  floodRuns: number;
  skipFlood: boolean;
  skipFloor: boolean;
  floorRuns: number;
  vmTestRuns: number;
  outDir: string;
}

export interface BenchOptions extends BenchRequest {
  repoRoot: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
}

const BENCH_DIR = '/sys/kernel/debug/refprobe/bench';
/** The flood's source address on dummy0; 255.255.255.255 is sent from it. */
const FLOOD_ADDR = '10.99.0.1';

/** The kernel as prepareGuest takes it. */
function kernelSpec(k: BenchRequest['kernels'][number]): { kernel?: string; kdir?: string } {
  return { ...(k.kernel ? { kernel: k.kernel } : {}), ...(k.kdir ? { kdir: k.kdir } : {}) };
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HarnessError('interrupted', 'run make bench again');
}

async function benchPoint(guest: Guest, mode: string, cpus: number, msec: number): Promise<{ sample: BenchSample; raw: string }> {
  const r = await guest.target.run(`echo 'run ${mode} ${cpus} ${msec}' > ${BENCH_DIR}/ctl || { cat ${BENCH_DIR}/error >&2; exit 1; }; cat ${BENCH_DIR}/result`);
  if (r.exitCode !== 0) throw new HarnessError(`refprobe refused "run ${mode} ${cpus} ${msec}": ${r.stderr.trim()}`, 'see kmod/README.md, bench/ctl');
  return { sample: parseBenchResult(r.stdout), raw: r.stdout };
}

async function microbench(guest: Guest, opts: BenchOptions, cpusOnline: number): Promise<{ samples: BenchSample[]; raws: string[] }> {
  const samples: BenchSample[] = [];
  const raws: string[] = [];
  const total = opts.runs * BENCH_MODES.length * cpusOnline;
  for (let run = 1; run <= opts.runs; run++) {
    for (const mode of BENCH_MODES) {
      for (let cpus = 1; cpus <= cpusOnline; cpus++) {
        checkAbort(opts.signal);
        const { sample, raw } = await benchPoint(guest, mode, cpus, opts.msec);
        samples.push(sample);
        raws.push(raw);
      }
    }
    opts.progress(`  microbenchmark: run ${run}/${opts.runs} done (${samples.length}/${total} points)`);
  }
  return { samples, raws };
}

/**
 * Where the flood goes: dummy0 (a NIC that frees every packet) when the
 * kernel has the dummy driver, else the loopback device (every packet is
 * then also received, so more of its cost is not the reference). Prints
 * "DEVICE ADDRESS".
 */
const FLOOD_SETUP = [
  `[ -f ${GUEST_DUMMY_PATH} ] && insmod ${GUEST_DUMMY_PATH} numdummies=1 2>/dev/null`,
  'if ip link show dummy0 >/dev/null 2>&1; then',
  `  ip addr add ${FLOOD_ADDR}/24 dev dummy0 && ip link set dummy0 up && echo dummy0 ${FLOOD_ADDR}`,
  'else',
  '  ip link set lo up && echo lo 127.0.0.1',
  'fi',
].join('\n');

async function flood(guest: Guest, opts: BenchOptions, cpusOnline: number): Promise<FloodReport | string> {
  const setup = await guest.target.run(FLOOD_SETUP);
  const [device, addr] = setup.stdout.trim().split(/\s+/);
  if (setup.exitCode !== 0 || !device || !addr) return `flood set-up failed: ${setup.stderr.trim() || setup.stdout.trim()}`;
  const samples: FloodSample[] = [];
  const routes: number[] = [];
  const readRoutes = async (): Promise<number> => rtCacheColumn((await guest.target.run('cat /proc/net/stat/rt_cache')).stdout, 'out_slow_tot');
  const timeoutMs = Math.max(opts.commandTimeoutSec, 300) * 1000;
  for (let run = 1; run <= opts.floodRuns; run++) {
    for (let threads = 1; threads <= cpusOnline; threads++) {
      checkAbort(opts.signal);
      const before = await readRoutes();
      const r = await guest.target.run(`${GUEST_FLOOD_PATH} ${threads} ${opts.floodPackets} ${addr}`, { timeoutMs });
      if (r.exitCode !== 0) throw new HarnessError(`the flood failed (exit ${r.exitCode}): ${r.stderr.trim()}`, 'see the console log');
      samples.push(parseFlood(r.stdout));
      routes.push((await readRoutes()) - before);
    }
    opts.progress(`  flood: run ${run}/${opts.floodRuns} done (through ${device})`);
  }
  return {
    device,
    how: `sendto(255.255.255.255:9) from an unconnected UDP socket bound to ${addr} on ${device}, one process pinned per CPU; each packet builds an uncached route (rt_dst_alloc -> dst_init: netdev_hold; dst_destroy: netdev_put)`,
    points: summarizeFlood(samples, routes),
  };
}

/**
 * What one scenario step costs in the command channel: one hold and one
 * read of the devices file, every way this guest can be reached,
 * alternated so the host's load hits all alike: the channel scenarios use
 * (virtio-serial where the kernel has it) with the C agent's fork-free
 * requests; with a virtio channel, the serial port ttyS1 the same way; and
 * a shell script per command (sh forked, base64 both ways), as every
 * command went before. Each hold is put back.
 */
async function agentRoundTrip(guest: Guest, channel: ChannelKind, serial: AgentChannel | null, n = 30): Promise<ChannelTiming[]> {
  const { probe, target } = guest;
  const ctl = `${DEBUGFS_DIR}/ctl`;
  const devices = `${DEBUGFS_DIR}/devices`;
  const main = channel === 'virtio' ? 'virtio-serial port' : 'serial port ttyS1';
  const ways: { way: string; step: () => Promise<unknown> }[] = [
    { way: `${main}, C agent, fork-free`, step: async () => {
      await probe.ctl('hold rprt0 0 1');
      await probe.devices();
    } },
    ...(serial ? [{ way: 'serial port ttyS1, C agent, fork-free', step: async () => {
      await serial.write(ctl, 'hold rprt0 0 1');
      await serial.read(devices);
    } }] : []),
    { way: `${main}, a script per command (sh)`, step: async () => {
      await target.run(`echo 'hold rprt0 0 1' > ${ctl}`);
      await target.run(`cat ${devices}`);
    } },
  ];
  await probe.must('alloc rprt0 0');
  const times = ways.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (const [w, { step }] of ways.entries()) {
      const t = performance.now();
      await step();
      times[w]?.push(performance.now() - t);
    }
  }
  await probe.must(`put rprt0 0 ${ways.length * n}`);
  await probe.must('free rprt0');
  return ways.map(({ way }, w) => ({ way, spread: spread(times[w] ?? []) }));
}

async function benchKernel(opts: BenchOptions, k: BenchRequest['kernels'][number], dir: string, index: number): Promise<{ result: KernelBench; prep: PreparedGuest; raws: string[] }> {
  const prep = await prepareGuest(kernelSpec(k), opts.guest, opts);
  // Its flood program, busybox and floor boot are the host's: and a timing under emulation of another architecture measures QEMU.
  if (prep.kernel.arch !== hostArch()) throw new HarnessError(`bench: ${prep.kernel.release} is an ${prep.kernel.arch} kernel, and bench measures kernels of this machine's architecture (${hostArch()}) only`, `run the suite on it instead: make vm-test ARGS="--kernel ${prep.kernel.image}"`);
  const floodBin = await buildFlood(opts.repoRoot);
  const dummy = await findDummyModule(prep.kernel.release, prep.kernel.kdir);
  const initramfs = await buildBenchInitramfs({
    busybox: opts.guest.busybox,
    init: path.join(opts.repoRoot, 'vm/guest/init'),
    agent: await buildAgent(opts.repoRoot),
    module: prep.module.ko,
    channelModules: prep.channel.modules,
    flood: floodBin,
    dummy,
  });
  opts.progress(`bench initramfs: ${initramfs.cached ? 'cached' : 'packed'} ${initramfs.path} (flood program${dummy ? ', dummy.ko' : ', no dummy.ko'})`);
  const consoleLog = path.join(dir, `console-${index}.log`);
  let guest: Guest | null = null;
  let close: (() => Promise<void>) | null = null;
  const onAbort = (): void => void close?.();
  opts.signal?.addEventListener('abort', onAbort);
  const tmp = await scratchDir('refprobe-bench');
  let serialAgent: SerialAgent | null = null;
  try {
    serialAgent = await SerialAgent.listen(path.join(tmp, 'serial.sock'), opts.commandTimeoutSec * 1000);
    const booted = await bootGuest({ ...prep, initramfs }, { smp: opts.smp, possibleCpus: null }, opts.guest, { ...opts, consoleLog, onConsoleLine: () => undefined, serialSocket: serialAgent.path });
    close = booted.close;
    serialAgent.failWith(booted.target.qemu.exited.then((exit) => new TargetError('guest-died', describeExit(exit))));
    guest = await loadProbe({ target: booted.target, modulePath: GUEST_MODULE_PATH, moduleRefused: null, bootMs: booted.bootMs, close: booted.close }, {});
    const serial = prep.channel.plan.kind === 'virtio' ? await serialAgent.ready() : null;
    const { info } = guest;
    const online = info.topology.online;
    opts.progress(`guest: ${info.release}, variant ${info.variant}, online CPUs ${online.join(',')}, ${guest.target.description} (up in ${guest.bootMs} ms)`);
    const roundTrip = await agentRoundTrip(guest, prep.channel.plan.kind, serial);
    opts.progress(`agent round trip (one hold + one devices read, median of ${roundTrip[0]?.spread.n}): ${roundTrip.map((r) => `${r.way} ${r.spread.median.toFixed(2)} ms`).join('; ')}`);
    const { samples, raws } = await microbench(guest, opts, online.length);
    let floodReport: FloodReport | null = null;
    let floodSkipped: string | null = opts.skipFlood ? '--skip-flood' : null;
    if (!opts.skipFlood) {
      const f = await flood(guest, opts, online.length);
      if (typeof f === 'string') floodSkipped = f;
      else floodReport = f;
    }
    const result: KernelBench = {
      kernelArg: k.name ?? k.kernel,
      release: info.release,
      image: prep.kernel.image,
      variant: info.variant,
      accel: prep.accel,
      target: guest.target.description,
      onlineCpus: online,
      msec: opts.msec,
      runs: opts.runs,
      points: summarizePoints(samples),
      flood: floodReport,
      floodSkipped,
      consoleLog,
      balanced: samples.every((s) => s.refcnt === 1),
      roundTrip,
    };
    return { result, prep, raws };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await close?.();
    await serialAgent?.close();
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface BenchOutcome {
  report: BenchReport;
  table: string;
}

export async function runBench(opts: BenchOptions): Promise<BenchOutcome> {
  const dir = path.resolve(opts.outDir, 'bench', runStamp(new Date(), process.pid));
  await mkdir(dir, { recursive: true });
  const cpus = os.cpus();
  const report: BenchReport = {
    tool: 'pcpu-refcnt-harness bench',
    startedAt: new Date().toISOString(),
    machine: {
      cpuModel: cpus[0]?.model ?? 'unknown',
      hostCpus: cpus.length,
      loadAvgStart: os.loadavg().map((x) => +x.toFixed(2)),
      loadAvgEnd: null,
      note: 'other work on the host makes every timing noisy; the load averages say how busy it was',
    },
    settings: { smp: opts.smp, runs: opts.runs, msec: opts.msec, floodPackets: opts.floodPackets, floodRuns: opts.floodRuns, kernels: opts.kernels.map((k) => k.kernel) },
    kernels: [],
    comparisons: [],
    floor: null,
    error: null,
    files: { dir, json: path.join(dir, 'bench.json'), svg: path.join(dir, 'bench.svg'), table: path.join(dir, 'table.txt') },
  };
  let firstPrep: PreparedGuest | null = null;
  const rawSamples: string[] = [];
  try {
    for (const [i, k] of opts.kernels.entries()) {
      opts.progress(`kernel ${i + 1}/${opts.kernels.length}: ${k.kernel ?? '(default)'}`);
      const { result, prep, raws } = await benchKernel(opts, k, dir, i);
      firstPrep ??= prep;
      report.kernels.push(result);
      rawSamples.push(...raws);
    }
    if (!opts.skipFloor && firstPrep) {
      const floorImage = await buildFloorInitramfs(opts.guest.busybox);
      const floors: number[] = [];
      for (let i = 0; i < opts.floorRuns; i++) {
        checkAbort(opts.signal);
        floors.push(await floorBoot(firstPrep, floorImage, { smp: opts.smp, possibleCpus: null }, opts.guest, opts.bootTimeoutSec, path.join(dir, `floor-console-${i}.log`)));
        opts.progress(`floor: bare boot + power-off ${i + 1}/${opts.floorRuns}: ${floors[floors.length - 1]} ms`);
      }
      const k0 = opts.kernels[0];
      const vmArgs = [
        '--smp', String(opts.smp), '--accel', opts.guest.accel, '--singlestep', opts.guest.singlestep, '--machine', opts.guest.machine, '--boot', opts.guest.boot, '--memory', String(opts.guest.memoryMb),
        '--qemu', opts.guest.qemu, '--busybox', opts.guest.busybox, '--present-as', opts.guest.presentAs,
        ...opts.guest.append.flatMap((a) => ['--append', a]),
        ...opts.guest.qemuExtra.map((a) => `--qemu-arg=${a}`),
        ...(k0?.kernel ? ['--kernel', k0.kernel] : []),
        ...(k0?.kdir ? ['--kdir', k0.kdir] : []),
      ];
      const vmTest = [];
      for (let i = 0; i < opts.vmTestRuns; i++) {
        checkAbort(opts.signal);
        opts.progress(`vm-test: run ${i + 1}/${opts.vmTestRuns} (the whole suite, as make vm-test runs it)`);
        const t = await timeVmTest(opts.repoRoot, path.join(dir, 'vm-test'), vmArgs, 1200, opts.signal);
        opts.progress(`vm-test: ${t.ok ? 'passed' : 'FAILED'}; phases ${JSON.stringify(t.phasesMs)}`);
        vmTest.push(t);
      }
      const floorMs = spread(floors);
      report.floor = { floorMs, vmTest, ratios: floorRatios(floorMs, vmTest.map((v) => v.phasesMs)) };
    }
  } catch (e) {
    // Once interrupted, the closed guest's errors are only the interrupt's echo.
    if (opts.signal?.aborted) report.error = 'interrupted';
    else report.error = e instanceof HarnessError ? e.what : e instanceof Error ? e.message : String(e);
    // A refusal or a dead guest is a result worth writing down; anything else is a harness bug.
    if (!opts.signal?.aborted && !(e instanceof HarnessError) && !(e instanceof TargetError)) throw e;
  } finally {
    report.machine.loadAvgEnd = os.loadavg().map((x) => +x.toFixed(2));
    report.comparisons = comparisons(report.kernels);
    const table = formatBenchTable(report);
    await writeFile(report.files.json, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(report.files.table, table);
    await writeFile(path.join(dir, 'bench-results.txt'), rawSamples.join('\n'));
    if (report.kernels.length) {
      const accel = report.kernels[0]?.accel.accel ?? '?';
      await writeFile(report.files.svg, benchChart(report.kernels, `dev_hold+dev_put pairs per second vs CPUs (${accel.toUpperCase()})`));
    }
  }
  return { report, table: formatBenchTable(report) };
}
