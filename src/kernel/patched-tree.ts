/**
 * Kernel trees with patches applied, for `vm-test --patch` and `make
 * mutants` alike. A patched tree is a hard-linked copy of the unpacked
 * source (no data copied) in <cache>/kernels/patched-<base>-<key>/, the
 * patches applied there (each file a patch touches gets its own copy
 * first, so the shared source and the base variant never change), built in
 * its build/ subdirectory from a copy of the base variant's objects: only
 * what the patches reach is rebuilt (build-tree.ts). The tree is assembled
 * in a temporary directory and published by rename once every patch
 * applied, so the cache never holds a half-patched tree; its key is the
 * base's inputs and the patches' texts, so the same patches again reuse the
 * built kernel.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cacheRoot, hashOf } from '../cache/cache.js';
import { HarnessError } from '../errors.js';
import type { TreeBuild } from './build-tree.js';
import { alive } from '../cache/scratch.js';
import { rejectedHunks, type Patch } from './patch.js';

/** Patched trees unused this long are removed when a new one is made (each holds ~200 MB of objects). */
const KEEP_DAYS = 30;
const USED = '.refprobe-used';

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
    const st = await stat(file).catch(() => null); // a file the patch creates
    if (st && st.nlink > 1) {
      await copyFile(file, `${file}.unshare`);
      await rename(`${file}.unshare`, file);
    }
  }
}

async function patch(dir: string, text: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  // --batch: never ask on the terminal (a file 6.1 does not have); --fuzz=0: a hunk applies where its whole context matches, or not at all.
  const r = await execa('patch', ['-p1', '-d', dir, '--batch', '--fuzz=0', '--no-backup-if-mismatch', '-r', '-', ...args], { input: text, reject: false, all: true, timeout: 60_000 });
  return { ok: r.exitCode === 0, out: r.all ?? '' };
}

/**
 * Applies the patches in order. Each is tried first (a dry run), so one
 * that does not apply touches nothing and its rejected hunks are shown.
 */
export async function applyPatches(dir: string, patches: readonly Patch[], pristine = dir, baseName = 'the 6.1 source', refreshAgainst = 'linux-source-6.1'): Promise<void> {
  for (const [i, p] of patches.entries()) {
    const dry = await patch(dir, p.text, ['--forward', '--dry-run']);
    if (!dry.ok) {
      const hunks = rejectedHunks(p.text, dry.out);
      const shown = hunks.length
        ? hunks.map((h) => `${h.file}: hunk #${h.hunk} does not apply:\n${h.text}`).join('\n')
        : dry.out.trim();
      const after = i > 0 ? ` after ${patches.slice(0, i).map((x) => x.name).join(', ')}` : '';
      throw new HarnessError(
        `${p.name} does not apply to ${baseName}${after}:\n${shown}`,
        `refresh the patch against ${refreshAgainst} (\`patch -p1 --dry-run -d ${pristine} < ${p.name}\` shows the same${i > 0 ? ' once the patches before it are in' : ''}); patches apply in the order given`,
        dry.out.trim(),
      );
    }
    await unshare(dir, p.files);
    const r = await patch(dir, p.text, ['--forward']);
    if (!r.ok) throw new HarnessError(`${p.name} failed to apply after a clean dry run:\n${r.out}`, 'run again (the half-patched copy is discarded)');
  }
}

/** Removes patched trees nobody used for KEEP_DAYS and nobody holds now, and copies a dead run left half-made. */
export async function prune(root: string, progress: (l: string) => void): Promise<void> {
  const old = Date.now() - KEEP_DAYS * 86_400_000;
  for (const name of (await readdir(root).catch(() => [])).filter((n) => n.startsWith('patched-'))) {
    const dir = path.join(root, name);
    const tmpOf = /\.tmp-(\d+)$/.exec(name);
    if (tmpOf) {
      if (!alive(Number(tmpOf[1]))) await rm(dir, { recursive: true, force: true });
      continue;
    }
    const used = (await stat(path.join(dir, USED)).catch(() => null)) ?? (await stat(dir).catch(() => null));
    if (!used || used.mtimeMs > old) continue;
    if (existsSync(path.join(dir, 'build', '.refprobe-lock'))) continue;
    progress(`removing ${dir} (unused for ${KEEP_DAYS} days)`);
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PatchedTreeOptions {
  /** The base variant's tree: its source copy's origin, config and objects. */
  base: TreeBuild;
  /** The unpacked source the base is linked from. */
  sourceDir: string;
  /** Its Debian package (linux-source-6.12), for messages; default linux-source-6.1. */
  sourcePackage?: string;
  patches: readonly Patch[];
  label: string;
  progress: (l: string) => void;
}

/** The patched tree, linked and patched on first use; build it with buildTree. */
export async function patchedTree(o: PatchedTreeOptions): Promise<TreeBuild> {
  if (o.patches.length === 0) throw new Error('patchedTree: no patches');
  const key = hashOf(o.base.inputsKey, ...o.patches.map((p) => p.text));
  const root = path.join(cacheRoot(), 'kernels');
  const dir = path.join(root, `patched-${o.base.label}-${key}`);
  if (!existsSync(path.join(dir, 'Makefile'))) {
    await prune(root, o.progress);
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    try {
      await linkedSource(o.sourceDir, tmp, o.progress);
      const pkg = o.sourcePackage ?? 'linux-source-6.1';
      await applyPatches(tmp, o.patches, o.base.source, `the ${pkg.replace(/^linux-source-/, '')} source`, pkg);
      await writeFile(path.join(tmp, USED), ''); // before it is published: prune never sees it unused
      await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e; // another run made the same tree
        await rm(tmp, { recursive: true, force: true });
      });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  }
  const now = new Date();
  await writeFile(path.join(dir, USED), '');
  await utimes(path.join(dir, USED), now, now);
  return {
    ...o.base,
    label: o.label,
    source: dir,
    buildDir: path.join(dir, 'build'),
    inputsKey: hashOf(o.base.inputsKey, ...o.patches.map((p) => p.text)),
    seeds: [o.base.buildDir],
    touchAfterSeed: [...new Set(o.patches.flatMap((p) => p.files))],
    fixHint: `fix the patch (${o.patches.map((p) => p.name).join(', ')}) so that ${o.base.label} builds with it, then run again`,
  };
}
