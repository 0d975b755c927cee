/** Runs the real vm-test command for the VM suite, and finds what a run left behind. */
import { readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import type { RunReport } from '../src/report/report.js';
import type { MatrixReport } from '../src/report/matrix-report.js';
import { repoRoot } from './fixtures.js';

export const VM_TEST = path.join(repoRoot, 'dist/harness/vm-test.js');
export const OUT = path.join(repoRoot, 'out/test-vm');

/**
 * Echoes a long command's progress to this test's stderr as it comes (the
 * runner passes it through), so `make test` is never silent for long and a
 * CI with a no-output timeout does not kill it. Per-run detail lines
 * ("vm-test: [label] ...") stay in the command's own output.
 */
export function streamProgress<T extends ResultPromise>(proc: T): T {
  let pending = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) if (!/^vm-test: \[/.test(l) && l.trim()) process.stderr.write(`  | ${l}\n`);
  });
  return proc;
}

export function vmTest(args: string[], timeoutMs = 600_000, env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true }> {
  return streamProgress(execa('node', [VM_TEST, '--out', OUT, ...args], { reject: false, all: true, timeout: timeoutMs, env }));
}

/** The report a run names last: a single run's, or a matrix's merged one (its failing cells' come before). */
export function reportPath(stderr: string): string {
  const all = [...stderr.matchAll(/report: +(\S+)/g)];
  const last = all[all.length - 1]?.[1];
  if (!last) throw new Error(`no report path in:\n${stderr}`);
  return last;
}

export async function reportOf(stderr: string): Promise<RunReport> {
  return JSON.parse(await readFile(reportPath(stderr), 'utf8')) as RunReport;
}

export async function matrixReportOf(stderr: string): Promise<MatrixReport> {
  return JSON.parse(await readFile(reportPath(stderr), 'utf8')) as MatrixReport;
}

/** QEMU processes started from this checkout's runs (none must survive a run). */
export async function strayQemus(): Promise<string[]> {
  const r = await execa('ps', ['-eo', 'pid,args'], { reject: false });
  return r.stdout.split('\n').filter((l) => l.includes('qemu-system') && l.includes('refprobe-'));
}

/**
 * The scenarios a kernel whose every hold counts twice (--fault hold-twice)
 * must fail: those that take a reference with dev_hold (irq-context's
 * interrupts and kthread take the fault too, as stress does). racing-reader and
 * tracker-leak take theirs in their own kthreads and with netdev_hold();
 * the others take none (dummy-device's hold is refused on a per-CPU
 * kernel): the fault cannot touch them.
 */
export const HOLD_TWICE_FAILS = [
  'hold-put-every-cpu',
  'hold-put-cross-cpu',
  'extremes',
  'irq-context',
  'stress',
  'unregister-balanced',
  'unregister-held',
  'unregister-notifier',
  'unregister-rebroadcast',
  'unregister-below-one',
  'cpu-hotplug',
  'unregister-offline-cpu',
  'possible-cpus',
  'null-device',
  'unload-releases',
  'cpu-unplug',
];
