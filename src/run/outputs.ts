/**
 * The files a run leaves (report.json, tap.txt, JUnit, KCIDB), written so a
 * full or read-only disk cannot eat a verdict: each whole file goes to a
 * temp name and is renamed over its place (a reader sees the old file or the
 * new, never a cut one), and a write that fails is said in one line and
 * remembered, not thrown: the run's verdict still reaches the terminal and
 * the exit status stays the run's.
 */
import { appendFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../errors.js';

/** Writes that failed in this process, in words (what, where, why). */
const lost: string[] = [];

export function lostOutputs(): readonly string[] {
  return lost;
}

/** The errno as a person reads it. Pure. */
export function writeFailure(file: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EISDIR: 'it is a directory',
  };
  return `${file}: ${(err.code && why[err.code]) ?? err.message} (${err.code ?? 'error'})`;
}

function remember(file: string, e: unknown, progress: (l: string) => void): false {
  const what = writeFailure(file, e);
  lost.push(what);
  progress(`could not write ${what}; the verdict is still printed below`);
  return false;
}

/** The whole file, atomically. True when it is on disk. */
export async function writeOutput(file: string, text: string, progress: (l: string) => void): Promise<boolean> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(tmp, text);
    await rename(tmp, file);
    return true;
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    return remember(file, e, progress);
  }
}

/** A line more of a growing file (the TAP copy); after the first failure the file is given up, said once. */
export function appender(file: string, progress: (l: string) => void): (text: string) => Promise<void> {
  let failed = false;
  return async (text) => {
    if (failed) return;
    await appendFile(file, text).catch((e: unknown) => {
      failed = true;
      remember(file, e, progress);
    });
  };
}

/**
 * Checks, before any VM starts, that every output can be written: a
 * read-only --out or a --junit in a directory that does not exist is a
 * mistake to hear in a second, not after the run. Throws a HarnessError.
 */
export async function checkOutputPaths(out: string, files: readonly (string | null | undefined)[]): Promise<void> {
  const probe = async (dir: string, what: string): Promise<void> => {
    const test = path.join(dir, `.refprobe-write-test-${process.pid}`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(test, '');
      await rm(test, { force: true });
    } catch (e) {
      throw new HarnessError(`${what} cannot be written: ${writeFailure(dir, e)}`, `pass ${what.split(' ')[0]} with a writable path`);
    }
  };
  await probe(out, `--out ${out}`);
  for (const f of files) {
    if (!f) continue;
    const st = await stat(f).catch(() => null);
    if (st?.isDirectory()) throw new HarnessError(`${f} is a directory`, 'pass --junit/--kcidb with a file name');
    await probe(path.dirname(path.resolve(f)), `--junit/--kcidb ${f}`);
  }
}
