/** Runs the real vm-test command for the VM suite, and finds what a run left behind. */
import { readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import type { RunReport } from '../src/report/report.js';
import { repoRoot } from './fixtures.js';

export const VM_TEST = path.join(repoRoot, 'dist/harness/vm-test.js');
export const OUT = path.join(repoRoot, 'out/test-vm');

export function vmTest(args: string[], timeoutMs = 600_000): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [VM_TEST, '--out', OUT, ...args], { reject: false, all: true, timeout: timeoutMs });
}

export async function reportOf(stderr: string): Promise<RunReport> {
  const m = /report: +(\S+)/.exec(stderr);
  if (!m?.[1]) throw new Error(`no report path in:\n${stderr}`);
  return JSON.parse(await readFile(m[1], 'utf8')) as RunReport;
}

/** QEMU processes started from this checkout's runs (none must survive a run). */
export async function strayQemus(): Promise<string[]> {
  const r = await execa('ps', ['-eo', 'pid,args'], { reject: false });
  return r.stdout.split('\n').filter((l) => l.includes('qemu-system') && l.includes('refprobe-'));
}
