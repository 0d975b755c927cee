/**
 * The harness's own speed: the floor (a bare boot and power-off of the same
 * kernel with an init that does nothing else) and `make vm-test`'s phases,
 * from its JSON report. I/O only; the ratios are computed in report.ts.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.js';
import type { CpuRequest, PreparedGuest, QemuSettings } from '../backend/qemu/guest.js';
import { QemuProcess } from '../backend/qemu/qemu.js';
import { qemuArgs } from '../backend/qemu/qemu-args.js';
import { chooseCpuLayout } from '../backend/qemu/cpu-layout.js';
import { choosePresentation } from '../backend/qemu/presentation.js';
import type { Initramfs } from '../initramfs/build.js';
import { scratchDir } from '../cache/scratch.js';

/**
 * Boots the prepared kernel with the floor initramfs and returns the
 * milliseconds from spawning QEMU to its exit. Same QEMU command line as a
 * vm-test guest (machine, CPUs, memory, presentation, command channel,
 * --append and --qemu-arg), only the init differs.
 */
export async function floorBoot(prep: PreparedGuest, floor: Initramfs, cpus: CpuRequest, settings: QemuSettings, bootTimeoutSec: number, consoleLog: string): Promise<number> {
  const tmp = await scratchDir('refprobe-floor');
  const socket = path.join(tmp, 'channel.sock');
  // QEMU connects to the channel at start; nobody speaks on it here.
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  const args = qemuArgs({
    qemu: settings.qemu,
    kernel: prep.image.path,
    initrd: floor.path,
    accel: prep.accel.accel,
    machine: settings.machine,
    cpus: cpus.smp,
    presentAs: choosePresentation(settings.presentAs, settings.machine, chooseCpuLayout(settings.machine, cpus.smp, cpus.possibleCpus), prep.accel.accel, prep.cpuConfig, prep.rules.rules).presentAs,
    memoryMb: settings.memoryMb,
    channelSocket: socket,
    cmdline: settings.append,
    extraArgs: settings.qemuExtra,
    agentIdleSec: 60,
  });
  const t = performance.now();
  const qemu = new QemuProcess(settings.qemu, args, consoleLog, () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timedOut = await Promise.race([
      qemu.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), bootTimeoutSec * 1000))),
    ]);
    if (timedOut) throw new HarnessError(`the floor guest did not power off within ${bootTimeoutSec} s (console: ${consoleLog})`, 'raise --boot-timeout, or look at the console log');
    const exit = await qemu.exited;
    if (exit.exitCode !== 0) throw new HarnessError(`the floor guest's QEMU exited with ${exit.exitCode}: ${exit.stderr.trim().slice(0, 200)}`, `see ${consoleLog}`);
    return Math.round(performance.now() - t);
  } finally {
    clearTimeout(timer);
    await qemu.stop(0);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface ScenarioWait {
  scenario: string;
  why: string;
  ms: number;
}

export interface VmTestTiming {
  ok: boolean;
  report: string;
  /** The report's phases, plus scenariosOwn: the scenarios phase less the claims' waits (the harness's own time). */
  phasesMs: Record<string, number>;
  /** Every scenario's claim waits (ClaimWaits), in run order. */
  waits: ScenarioWait[];
}

/** The timing a vm-test report carries: its phases, and what of the scenarios' time the claims' own waits took. */
export function reportTiming(json: { phasesMs?: unknown; scenarios?: unknown }): { phasesMs: Record<string, number>; waits: ScenarioWait[] } {
  const phasesMs: Record<string, number> = {};
  if (json.phasesMs && typeof json.phasesMs === 'object') {
    for (const [k, v] of Object.entries(json.phasesMs)) if (typeof v === 'number') phasesMs[k] = v;
  }
  const waits: ScenarioWait[] = [];
  for (const s of Array.isArray(json.scenarios) ? (json.scenarios as { name?: unknown; waits?: unknown }[]) : []) {
    for (const w of Array.isArray(s.waits) ? (s.waits as { why?: unknown; ms?: unknown }[]) : []) {
      if (typeof s.name === 'string' && typeof w.why === 'string' && typeof w.ms === 'number') waits.push({ scenario: s.name, why: w.why, ms: w.ms });
    }
  }
  if (phasesMs.scenarios !== undefined && phasesMs.claimWaits !== undefined) phasesMs.scenariosOwn = phasesMs.scenarios - phasesMs.claimWaits;
  return { phasesMs, waits };
}

/** Runs `node dist/harness/vm-test.js` as a user would, and reads its report's phases. */
export async function timeVmTest(repoRoot: string, outDir: string, args: string[], timeoutSec: number, signal?: AbortSignal): Promise<VmTestTiming> {
  const r = await execa(process.execPath, [path.join(repoRoot, 'dist/harness/vm-test.js'), '--out', outDir, ...args], {
    reject: false,
    stdout: 'ignore',
    timeout: timeoutSec * 1000,
    cleanup: true,
    forceKillAfterDelay: 5000,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  const stderr = String(r.stderr ?? '');
  let report = /vm-test: report:\s+(\S+)/.exec(stderr)?.[1];
  if (!report) {
    const runs = path.join(outDir, 'runs');
    const dirs = (await readdir(runs).catch(() => [] as string[])).sort();
    const last = dirs[dirs.length - 1];
    if (last) report = path.join(runs, last, 'report.json');
  }
  if (!report) throw new HarnessError(`vm-test left no report (exit ${r.exitCode}): ${stderr.split('\n').slice(-3).join(' | ')}`, 'run make vm-test by itself to see why');
  const json = JSON.parse(await readFile(report, 'utf8')) as { ok?: unknown; phasesMs?: unknown; scenarios?: unknown };
  return { ok: json.ok === true && r.exitCode === 0, report, ...reportTiming(json) };
}
