/**
 * Patching a variant's own source tree. Each variant builds from a
 * hard-linked copy of the unpacked source (cheap: no data is copied); a
 * mutant first gives every file it touches its own copy, so patching never
 * changes the shared source or another variant. While a patch is applied, a
 * marker in the tree holds it: a run that dies mid-mutant leaves the marker,
 * and the next build of the variant reverts the patch before it builds.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.js';
import type { Mutant } from './mutant.js';

const MARKER = '.refprobe-mutant';

export async function linkedSource(source: string, dir: string, progress: (l: string) => void): Promise<void> {
  if (existsSync(path.join(dir, 'Makefile'))) return;
  progress(`linking a copy of the source at ${dir}`);
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await execa('cp', ['-al', source, tmp], { timeout: 600_000 });
  await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
    // Another run linked it first: theirs is as good.
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    await rm(tmp, { recursive: true, force: true });
  });
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

async function patch(dir: string, text: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await execa('patch', ['-p1', '-d', dir, '--no-backup-if-mismatch', '-r', '-', ...args], { input: text, reject: false, all: true, timeout: 60_000 });
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}

export async function applyMutant(dir: string, m: Mutant): Promise<void> {
  // A patch that fails half-way leaves the hunks that applied: try it first, touch nothing if it would fail.
  const dry = await patch(dir, m.patch, ['--forward', '--dry-run']);
  if (!dry.ok) throw new HarnessError(`mutant ${m.variant}/${m.name} does not apply to ${dir}:\n${dry.out}`, `refresh vm/mutants/${m.variant}/${m.name}.patch against the source (diff -u a/FILE b/FILE)`);
  await unshare(dir, m.files);
  // The marker goes first: whatever happens next, the tree knows what may be applied.
  await writeFile(path.join(dir, MARKER), m.patch);
  const r = await patch(dir, m.patch, ['--forward']);
  if (!r.ok) throw new HarnessError(`mutant ${m.variant}/${m.name} failed to apply to ${dir} after a clean dry run:\n${r.out}`, `remove ${dir} (it is linked again from the source)`);
}

export async function revertMutant(dir: string, m: Mutant): Promise<void> {
  const r = await patch(dir, m.patch, ['-R']);
  if (!r.ok) throw new HarnessError(`mutant ${m.variant}/${m.name} cannot be reverted in ${dir}:\n${r.out}`, `remove ${dir} (it is linked again from the source)`);
  await rm(path.join(dir, MARKER), { force: true });
}

/**
 * Reverts a patch an interrupted mutant run left applied; returns its first
 * line, or null when the tree is clean. Call with the tree's lock held.
 */
export async function restoreSource(dir: string): Promise<string | null> {
  const text = await readFile(path.join(dir, MARKER), 'utf8').catch(() => null);
  if (text === null) return null;
  if ((await patch(dir, text, ['-R', '--dry-run'])).ok) {
    const r = await patch(dir, text, ['-R']);
    if (!r.ok) throw new HarnessError(`${dir} holds a mutant that cannot be reverted:\n${r.out}`, `remove ${dir} (it is linked again from the source)`);
  } else if (!(await patch(dir, text, ['--forward', '--dry-run'])).ok) {
    // Neither applied nor cleanly absent: part of it is in. Never build that.
    throw new HarnessError(`${dir} holds part of a mutant (${text.split('\n')[0] ?? ''})`, `remove ${dir} (it is linked again from the source)`);
  }
  // Else the run died between writing the marker and patching: nothing to revert.
  await rm(path.join(dir, MARKER), { force: true });
  return text.split('\n')[0] ?? '';
}
