/**
 * Scratch directories a run owns, and the prune that removes those a dead
 * run left behind. Every temp name carries its writer's pid: a directory
 * whose writer is gone (a SIGKILL, a power cut) can go, one whose writer
 * still runs must stay, whatever its age.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheRoot, TEMP_NAME } from './cache.js';

/** The scratch prefixes in $TMPDIR: `refprobe-` (guest work, KVM probe, bench floor, Debian VM) and `rp-ssh-` (SSH targets). */
const SCRATCH = /^(?:refprobe|rp-ssh)(?:-[a-z]+)?-(\d+)-[A-Za-z0-9]{6}$/;
/** A cache entry moved aside as damaged, by process N. */
const DAMAGED = /\.damaged-(\d+)-[0-9a-f]{6}$/;

/** Whether a process (a lock's owner) still runs. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, another user's: alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A private directory in $TMPDIR, named so `make prune` knows whose it is. */
export function scratchDir(name: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `${name}-${process.pid}-`));
}

/** The pid that owns a leftover's name, or null when the name is not one of ours. Pure. */
export function ownerOf(name: string, where: 'tmp' | 'cache'): number | null {
  const m = where === 'tmp' ? SCRATCH.exec(name) : (TEMP_NAME.exec(name) ?? DAMAGED.exec(name));
  if (!m) return null;
  return Number(m[m.length - 1]);
}

async function pruneIn(dir: string, where: 'tmp' | 'cache', progress: (l: string) => void): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = ownerOf(name, where);
    if (pid === null || alive(pid)) continue;
    progress(`removing ${path.join(dir, name)} (left by process ${pid}, which is gone)`);
    // One that cannot go (another user's in a sticky /tmp, a stray make still writing) is said, and the rest go on.
    const err = await rm(path.join(dir, name), { recursive: true, force: true }).then(() => null, (e: Error) => e);
    if (err) progress(`could not remove ${path.join(dir, name)}: ${err.message}`);
    else n++;
  }
  return n;
}

/** Removes what dead runs left: cache temp and damaged entries, $TMPDIR scratch (patched trees: kernel/patched-tree.ts prune). */
export async function pruneLeftovers(progress: (l: string) => void): Promise<number> {
  let n = await pruneIn(os.tmpdir(), 'tmp', progress);
  const root = cacheRoot();
  for (const kind of await readdir(root).catch(() => [] as string[])) n += await pruneIn(path.join(root, kind), 'cache', progress);
  return n;
}
