/**
 * The one source tree mutants are applied to, in turn: a hard-linked copy of
 * the unpacked source (cheap: no data is copied) in which every file a patch
 * touches is first given its own copy, so patching never changes the shared
 * source the variants build from. Kept between runs; kbuild then rebuilds
 * only what a patch (or its reversal) touched.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.js';
import type { Mutant } from './mutant.js';

export async function mutantSource(source: string, dir: string, progress: (l: string) => void): Promise<void> {
  if (existsSync(path.join(dir, 'Makefile'))) return;
  progress(`linking a copy of the source at ${dir}`);
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await execa('cp', ['-al', source, tmp], { timeout: 600_000 });
  await rename(tmp, dir);
}

/** Gives each file its own inode, so editing it leaves the linked original alone. */
async function unshare(dir: string, files: readonly string[]): Promise<void> {
  for (const f of files) {
    const file = path.join(dir, f);
    if ((await stat(file)).nlink > 1) {
      await copyFile(file, `${file}.unshare`);
      await rename(`${file}.unshare`, file);
    }
  }
}

async function patch(dir: string, m: Mutant, args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await execa('patch', ['-p1', '-d', dir, '--no-backup-if-mismatch', '-r', '-', ...args], { input: m.patch, reject: false, all: true, timeout: 60_000 });
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}

export async function applyMutant(dir: string, m: Mutant): Promise<void> {
  await unshare(dir, m.files);
  const r = await patch(dir, m, ['--forward']);
  if (!r.ok) throw new HarnessError(`mutant ${m.name} does not apply to ${dir}:\n${r.out}`, `refresh vm/mutants/${m.name}.patch against the source (diff -u a/FILE b/FILE)`);
}

export async function revertMutant(dir: string, m: Mutant): Promise<void> {
  const r = await patch(dir, m, ['-R']);
  if (!r.ok) throw new HarnessError(`mutant ${m.name} cannot be reverted in ${dir}:\n${r.out}`, `remove ${dir} (it is recreated from the source)`);
}

/** Reverts any mutant a previous, interrupted run left applied. */
export async function cleanMutants(dir: string, mutants: readonly Mutant[]): Promise<string[]> {
  const reverted: string[] = [];
  for (const m of mutants) {
    if ((await patch(dir, m, ['-R', '--dry-run'])).ok) {
      await revertMutant(dir, m);
      reverted.push(m.name);
    }
  }
  return reverted;
}
