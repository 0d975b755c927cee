/**
 * Builds a kernel out of tree (make O=DIR) from a source tree and config
 * fragments: tinyconfig, the fragments merged on top, every requested option
 * verified, then bzImage and modules (Module.symvers, so refprobe builds
 * against the tree). The build directory stays where it is built: kbuild
 * records absolute paths, so it cannot be built elsewhere and moved in.
 * A lock keeps two harness runs from building the same tree at once; a
 * stamp records the inputs of the last complete build, so an unchanged
 * tree is reused without running make at all.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../errors.js';
import { describeMismatches, parseKconfig, unmetOptions } from './config.js';
import { parseUtsRelease } from './release.js';

export interface TreeBuild {
  /** Shown in progress lines, e.g. "pcpu". */
  label: string;
  source: string;
  buildDir: string;
  /** The fragments' texts, applied in order on top of tinyconfig. */
  fragments: string[];
  /** Identifies every input; a tree whose stamp matches is not rebuilt. */
  inputsKey: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
  /** Minutes before a build is given up as hung. */
  timeoutMin?: number;
  /** Runs under the lock before the stamp is read: e.g. reverting a patch an interrupted run left. */
  prepare?: () => Promise<void>;
  /** The caller holds the tree's lock already (withTreeLock). */
  locked?: boolean;
}

export interface BuiltTree {
  dir: string;
  image: string;
  vmlinux: string;
  release: string;
  log: string;
  /** True when the stamp matched and make did not run. */
  reused: boolean;
  seconds: number;
}

const STAMP = '.refprobe-built';
const LOCK = '.refprobe-lock';

function treeFiles(dir: string): { image: string; vmlinux: string; log: string } {
  return { image: path.join(dir, 'arch/x86/boot/bzImage'), vmlinux: path.join(dir, 'vmlinux'), log: path.join(dir, 'build.log') };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Takes the tree's lock, waiting (bounded) for another harness run that builds or patches it. */
async function lockTree(dir: string, label: string, progress: (l: string) => void): Promise<() => Promise<void>> {
  const lock = path.join(dir, LOCK);
  const deadline = Date.now() + 30 * 60_000;
  let said = false;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return () => rm(lock, { force: true });
    } catch {
      const owner = Number(await readFile(lock, 'utf8').catch(() => '0'));
      if (!owner || !alive(owner)) {
        await rm(lock, { force: true }); // left by a run that died
        continue;
      }
      if (Date.now() > deadline) {
        throw new HarnessError(`kernel ${label}: ${dir} is locked by process ${owner} for over 30 minutes`, `stop process ${owner}, or remove ${lock}`);
      }
      if (!said) progress(`kernel ${label}: process ${owner} is building it, waiting`);
      said = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function runMake(b: TreeBuild, args: string[], logFile: string, what: string): Promise<void> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const t0 = Date.now();
  let objects = 0;
  let last = Date.now();
  const proc = execa('make', ['-C', b.source, `O=${b.buildDir}`, ...args], {
    all: true,
    buffer: false,
    reject: false,
    cancelSignal: b.signal,
    timeout: (b.timeoutMin ?? 40) * 60_000,
    forceKillAfterDelay: 5000,
  });
  proc.all?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    objects += (chunk.toString().match(/^\s+(CC|AS|LD)\b/gm) ?? []).length;
    if (Date.now() - last > 20_000) {
      last = Date.now();
      b.progress(`kernel ${b.label}: ${what}: ${objects} objects so far (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  });
  const r = await proc;
  await new Promise((res) => log.end(res));
  if (r.failed) {
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
    throw new HarnessError(`kernel ${b.label}: ${what} failed (${r.shortMessage}); full log: ${logFile}`, `read ${logFile}; fix the tree or the fragments, then run again (the build resumes)`, tail);
  }
}

/** Runs fn with the tree's lock held: no other harness run builds or reuses the tree meanwhile. */
export async function withTreeLock<T>(dir: string, label: string, progress: (l: string) => void, fn: () => Promise<T>): Promise<T> {
  await mkdir(dir, { recursive: true });
  const unlock = await lockTree(dir, label, progress);
  try {
    return await fn();
  } finally {
    await unlock();
  }
}

/** Marks the tree as not built from its recorded inputs (its source is about to change). */
export async function dropStamp(dir: string): Promise<void> {
  await rm(path.join(dir, STAMP), { force: true });
}

export async function buildTree(b: TreeBuild): Promise<BuiltTree> {
  return b.locked ? buildLocked(b) : withTreeLock(b.buildDir, b.label, b.progress, () => buildLocked(b));
}

async function buildLocked(b: TreeBuild): Promise<BuiltTree> {
  const t0 = performance.now();
  const files = treeFiles(b.buildDir);
  await mkdir(b.buildDir, { recursive: true });
  await b.prepare?.();
  const stamp = await readFile(path.join(b.buildDir, STAMP), 'utf8').catch(() => '');
  const reused = stamp === b.inputsKey && existsSync(files.image) && existsSync(files.vmlinux);
  if (!reused) {
    await rm(path.join(b.buildDir, STAMP), { force: true });
    await writeFile(files.log, `# ${new Date().toISOString()} building ${b.label} in ${b.buildDir}\n`);
    const fragment = path.join(b.buildDir, 'refprobe.config');
    await writeFile(fragment, b.fragments.join('\n'));
    b.progress(`kernel ${b.label}: configuring (tinyconfig + ${b.fragments.length} fragments)`);
    await runMake(b, ['tinyconfig'], files.log, 'tinyconfig');
    const merge = await execa(path.join(b.source, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', b.buildDir, path.join(b.buildDir, '.config'), fragment], {
      all: true,
      reject: false,
      cwd: b.source,
      timeout: 120_000,
    });
    await writeFile(files.log, `${merge.all ?? ''}\n`, { flag: 'a' });
    if (merge.failed) throw new HarnessError(`kernel ${b.label}: merging the config fragments failed; log: ${files.log}`, 'check vm/kernel-config/*.config');
    await runMake(b, ['olddefconfig'], files.log, 'olddefconfig');
    const unmet = unmetOptions(parseKconfig(b.fragments.join('\n')), parseKconfig(await readFile(path.join(b.buildDir, '.config'), 'utf8')));
    if (unmet.length) {
      throw new HarnessError(
        `kernel ${b.label}: Kconfig did not take ${unmet.length} requested option(s) (a dependency is missing):`,
        'add the missing dependencies to vm/kernel-config/*.config',
        describeMismatches(unmet),
      );
    }
    const jobs = Math.max(1, os.availableParallelism());
    const how = existsSync(files.vmlinux) ? 'incrementally: only what changed' : 'from scratch: about 5 minutes on 2 idle cores';
    b.progress(`kernel ${b.label}: building bzImage and modules with -j${jobs} (${how}); log ${files.log}`);
    await runMake(b, [`-j${jobs}`, 'bzImage', 'modules'], files.log, 'build');
    await writeFile(path.join(b.buildDir, STAMP), b.inputsKey);
  }
  const release = parseUtsRelease(await readFile(path.join(b.buildDir, 'include/generated/utsrelease.h'), 'utf8'));
  return { dir: b.buildDir, ...files, release, reused, seconds: Math.round((performance.now() - t0) / 100) / 10 };
}
