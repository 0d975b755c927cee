/**
 * The cache of built artefacts (modules, initramfs images, kernels
 * unpacked), outside the clone so it survives `git clean` and is shared by
 * every checkout. Entries are named by a hash of their inputs, written into
 * a private temp directory, recorded in a manifest (cache-manifest.ts) and
 * published by rename, so two runs at once never see a half-written entry.
 * Each entry is checked against its manifest before a run uses it: a damaged
 * one is named, removed and built again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { entryDamage, MANIFEST, readManifest, writeManifest } from './cache-manifest.js';
import { HarnessError } from '../errors.js';

export function cacheRoot(): string {
  if (process.env.REFPROBE_CACHE_DIR) return process.env.REFPROBE_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'pcpu-refcnt-harness');
}

export function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Temp directories carry the writer's pid, so `make prune` can tell a live writer's from one a kill left behind. */
export const tempPrefix = (key: string): string => `.${key}-${process.pid}-`;
export const TEMP_NAME = /^\.(.+)-(\d+)-[A-Za-z0-9]{6}$/;

/** Entries this process has checked: a matrix run asks for the same module many times. */
const verified = new Set<string>();

/** Forgets which entries were checked, as a new run starts (the unit tests stand in for one). */
export function forgetChecks(): void {
  verified.clear();
}

/** Where cache lines go; stderr, as every other progress line of the harness. */
export type CacheNote = (line: string) => void;
const toStderr: CacheNote = (l) => process.stderr.write(`${l}\n`);

/** Checks in flight in this process, by entry: matrix cells asking at once share one. */
const checking = new Map<string, Promise<boolean>>();

/**
 * Whether the published entry at `dir` can be used. An entry written before
 * manifests existed (no manifest file at all) is trusted once and recorded;
 * a damaged one, or one whose manifest is unreadable, is moved aside (so a
 * concurrent reader never sees it half-removed) and removed.
 */
function usable(dir: string, note: CacheNote, sizesOnly = false): Promise<boolean> {
  if (verified.has(dir)) return Promise.resolve(true);
  let p = checking.get(dir);
  if (!p) {
    p = check(dir, note, sizesOnly).finally(() => checking.delete(dir));
    checking.set(dir, p);
  }
  return p;
}

async function check(dir: string, note: CacheNote, sizesOnly: boolean): Promise<boolean> {
  const before = await stat(dir).catch(() => null);
  if (!before) return false;
  const manifest = await readManifest(dir);
  if (manifest === 'none') {
    await writeManifest(dir, sizesOnly).catch(() => undefined);
    verified.add(dir);
    return true;
  }
  const damage = manifest === 'unreadable' ? `its ${MANIFEST} cannot be read` : await entryDamage(dir, manifest, sizesOnly);
  if (!damage) {
    verified.add(dir);
    return true;
  }
  // Another run may have replaced the entry while this one read it: judge that one instead.
  const now = await stat(dir).catch(() => null);
  if (!now) return false;
  if (now.ino !== before.ino) return check(dir, note, sizesOnly);
  note(`cache: ${dir} is damaged (${damage}); removing it and building it again`);
  const aside = `${dir}.damaged-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await rename(dir, aside);
  } catch (e) {
    // Gone already (another run moved it): build it again. Anything else: never hand the damaged entry out.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new HarnessError(`cache: cannot remove the damaged ${dir}: ${(e as Error).message}`, `remove it by hand (rm -rf ${dir}) and run again`);
    }
  }
  await rm(aside, { recursive: true, force: true });
  return false;
}

/**
 * Returns the cached directory for `key`, creating it with `fill` (which
 * writes into a private temp directory) when it is missing or damaged.
 */
export interface CacheOptions {
  /** Record and check sizes only (a kernel source tree: see Manifest.sizesOnly). */
  sizesOnly?: boolean;
}

export async function cachedDir(kind: string, key: string, fill: (dir: string) => Promise<void>, note: CacheNote = toStderr, opts: CacheOptions = {}): Promise<{ dir: string; hit: boolean }> {
  const sizesOnly = opts.sizesOnly === true;
  const parent = path.join(cacheRoot(), kind);
  const dir = path.join(parent, key);
  if (existsSync(dir) && (await usable(dir, note, sizesOnly))) return { dir, hit: true };
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(path.join(parent, tempPrefix(key)));
  try {
    await fill(tmp);
    await writeManifest(tmp, sizesOnly);
    const ours = await rename(tmp, dir).then(
      () => true,
      async (e: NodeJS.ErrnoException) => {
        // Another run published the same entry first: theirs is as good, once checked like any other.
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        await rm(tmp, { recursive: true, force: true });
        return false;
      },
    );
    if (ours) verified.add(dir);
    else if (!(await usable(dir, note, sizesOnly))) throw new HarnessError(`cache: ${dir} was published by another run and is damaged`, 'run again: the next run builds it afresh');
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir, hit: false };
}
