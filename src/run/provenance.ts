/**
 * Where a run came from, for a report read months later or by a CI: the
 * harness's own commit (and whether its tree had changes), the command line,
 * QEMU's version, and the kernel's config hash and git description. Thin
 * I/O; every probe is bounded and a missing answer is null, never an error.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Provenance } from '../report/report.js';

/** report.json's format: bumped when a field changes meaning or goes away. */
export const REPORT_SCHEMA = 'refprobe-run/2';


async function out(cmd: string, args: string[], cwd?: string): Promise<string | null> {
  const r = await execa(cmd, args, { cwd, reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** The first line of an emulator's --version, or null when it does not answer. */
export async function emulatorVersion(qemu: string): Promise<string | null> {
  return (await out(qemu, ['--version']))?.split('\n')[0] ?? null;
}

export async function harnessProvenance(repoRoot: string, qemu: string | null): Promise<Pick<Provenance, 'harness' | 'command' | 'qemu'>> {
  const commit = await out('git', ['-C', repoRoot, 'rev-parse', 'HEAD']);
  const status = commit === null ? null : await out('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']);
  return {
    harness: { commit, dirty: status === null ? null : status.length > 0 },
    command: process.argv.slice(1).map((a, i) => (i === 0 ? path.relative(repoRoot, a) : a)),
    qemu: qemu === null ? null : await emulatorVersion(qemu),
  };
}

export async function kernelProvenance(kdir: string): Promise<Pick<Provenance, 'kernelConfig' | 'kernelGit' | 'kernelCheckout'>> {
  const file = path.join(kdir, '.config');
  const config = await readFile(file).catch(() => null);
  // A tree built out of its source (O=) has it as `source`; a git repository counts only if the source is its top (not a repository the cache happens to sit in).
  const source = await realpath(path.join(kdir, 'source')).catch(() => realpath(kdir).catch(() => kdir));
  const top = await out('git', ['-C', source, 'rev-parse', '--show-toplevel']);
  const src = top !== null && (await realpath(top).catch(() => top)) === source ? source : null;
  return {
    kernelConfig: config ? { file, sha256: createHash('sha256').update(config).digest('hex') } : null,
    kernelGit: src ? await out('git', ['-C', src, 'describe', '--always', '--dirty', '--tags']) : null,
    kernelCheckout: src ? await checkoutOf(src) : null,
  };
}

/** The commit, its repository (the origin remote's URL, else the first remote's) and branch, for KCIDB. */
async function checkoutOf(src: string): Promise<{ commit: string; repository: string | null; branch: string | null } | null> {
  const commit = await out('git', ['-C', src, 'rev-parse', 'HEAD']);
  if (!commit) return null;
  const remotes = (await out('git', ['-C', src, 'remote'])) ?? '';
  const remote = remotes.split('\n').includes('origin') ? 'origin' : remotes.split('\n')[0];
  const repository = remote ? await out('git', ['-C', src, 'remote', 'get-url', remote]) : null;
  const branch = await out('git', ['-C', src, 'rev-parse', '--abbrev-ref', 'HEAD']);
  return { commit, repository, branch: branch && branch !== 'HEAD' ? branch : null };
}
