/**
 * The cache of built artefacts (modules, initramfs images), outside the
 * clone so it survives `git clean` and is shared by every checkout. Entries
 * are named by a hash of their inputs and published by rename, so two runs
 * at once never see a half-written entry.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

/**
 * Returns the cached directory for `key`, creating it with `fill` (which
 * writes into a private temp directory) when it is missing.
 */
export async function cachedDir(kind: string, key: string, fill: (dir: string) => Promise<void>): Promise<{ dir: string; hit: boolean }> {
  const parent = path.join(cacheRoot(), kind);
  const dir = path.join(parent, key);
  if (existsSync(dir)) return { dir, hit: true };
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(path.join(parent, `.${key}-`));
  try {
    await fill(tmp);
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another run published the same entry first: theirs is as good.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir, hit: false };
}
