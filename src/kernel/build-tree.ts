/**
 * Builds a kernel out of tree (make O=DIR) from a source tree and config
 * fragments: tinyconfig, the fragments merged on top, every requested option
 * verified, then bzImage and modules (Module.symvers, so refprobe builds
 * against the tree). A lock keeps two harness runs from building the same
 * tree at once; a stamp records the inputs of the last complete build, so an
 * unchanged tree is reused without running make at all.
 *
 * A tree built in a subdirectory of its source (SRC/build) gets kbuild's
 * relative srctree (".."), so its command lines name no absolute path and
 * its objects are valid in any other copy of the same source. A cold tree
 * is therefore seeded with a copy of a complete sibling's objects (another
 * variant of the same source, or the base of a patched tree): make then
 * rebuilds only what the difference reaches (kbuild tracks each object's
 * CONFIG_ symbols and headers). The one exception is objtool, built by
 * tools/'s own make with absolute paths: its command files are rewritten to
 * the new tree, or objtool would be rebuilt and, newer than every object it
 * checked, force the whole kernel to be rebuilt after it.
 */
import { alive } from '../cache/scratch.js';
import { createWriteStream, existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { diskFailure, HarnessError, UntestableError } from '../errors.js';
import { describeMismatches, parseKconfig, unmetOptions } from './config.js';
import { parseUtsRelease } from './release.js';
import { ARCHES, kbuildArgs, type Arch } from './arch.js';
import { fileDamage, record, type FileRecord } from '../cache/cache-manifest.js';

export interface TreeBuild {
  /** Shown in progress lines, e.g. "pcpu". */
  label: string;
  /** What it is built for (arch.ts): ARCH= and CROSS_COMPILE= where it is not the host's. */
  arch: Arch;
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
  /**
   * Build directories of the same source at the same depth (SRC/build) whose
   * complete objects may start this tree when it has none; the first one
   * built and not locked is copied.
   */
  seeds?: string[];
  /** What to tell the user when the build fails (default: fix the tree or the fragments). */
  fixHint?: string;
  /**
   * Source files (relative) to date now after a seed copy, so make rebuilds
   * what depends on them even if the seed's objects are newer (a patched
   * tree's patched files).
   */
  touchAfterSeed?: string[];
  /**
   * After a seed copy, date every copied file to this time: a user's tree
   * whose sources differ from the seed's (files the harness must not touch)
   * is then newer than every object that might depend on them.
   */
  backdateSeedTo?: Date;
  /** A failed build means the kernel cannot be judged (a user's tree under bisect), not a set-up error. */
  untestable?: boolean;
  /**
   * Run make at the lowest priority (nice 19): the build shares the cores
   * with a guest whose vCPU threads must not wait for it (make mutants
   * builds the next kernel while the suite runs on this one).
   */
  nice?: boolean;
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
/** The lock file in a build directory (a copy of a tree must not carry it over). */
export const TREE_LOCK = '.refprobe-lock';
const LOCK = TREE_LOCK;
/** Present while a seed copy is under way: a build that finds it starts the copy again from nothing. */
const SEEDING = '.refprobe-seeding';

function treeFiles(dir: string, arch: Arch): { image: string; vmlinux: string; log: string } {
  return { image: path.join(dir, ARCHES[arch].image), vmlinux: path.join(dir, 'vmlinux'), log: path.join(dir, 'build.log') };
}


/**
 * Creates the lock file with the owner's pid already in it, or fails if it
 * exists: written aside, then hard-linked into place (atomic), so no other
 * run ever reads an empty lock and takes it for one a dead run left.
 */
async function tryLock(lock: string): Promise<boolean> {
  const mine = `${lock}.${process.pid}`;
  await writeFile(mine, String(process.pid));
  try {
    await link(mine, lock);
    return true;
  } catch {
    return false;
  } finally {
    await rm(mine, { force: true });
  }
}

/** Takes the tree's lock, waiting (bounded) for another harness run that builds or patches it. */
async function lockTree(dir: string, label: string, progress: (l: string) => void): Promise<() => Promise<void>> {
  const lock = path.join(dir, LOCK);
  const deadline = Date.now() + 30 * 60_000;
  let said = false;
  for (;;) {
    if (await tryLock(lock)) return () => rm(lock, { force: true });
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

/** Runs make in the tree; returns the objects it compiled (CC lines), in order. */
export async function runMake(b: TreeBuild, args: string[], logFile: string, what: string): Promise<string[]> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const t0 = Date.now();
  let objects = 0;
  const compiled: string[] = [];
  let last = Date.now();
  const make = ['make', '-C', b.source, `O=${b.buildDir}`, ...kbuildArgs(b.arch), ...args];
  const [file, ...argv] = (b.nice ? ['nice', '-n', '19', ...make] : make) as [string, ...string[]];
  const proc = execa(file, argv, {
    all: true,
    buffer: false,
    reject: false,
    cancelSignal: b.signal,
    timeout: (b.timeoutMin ?? 40) * 60_000,
    forceKillAfterDelay: 5000,
  });
  proc.all?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    const text = chunk.toString();
    objects += (text.match(/^\s+(CC|AS|LD)\b/gm) ?? []).length;
    for (const m of text.matchAll(/^\s+CC\s+(\S+)$/gm)) compiled.push(m[1] as string);
    if (Date.now() - last > 20_000) {
      last = Date.now();
      b.progress(`kernel ${b.label}: ${what}: ${objects} objects so far (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
  });
  const r = await proc;
  await new Promise((res) => log.end(res));
  if (r.failed) {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    const disk = diskFailure(text.slice(-20000), b.buildDir);
    if (disk && !b.signal?.aborted) throw disk;
    throw new (b.untestable ? UntestableError : HarnessError)(
      `kernel ${b.label}: ${what} failed (${(r.shortMessage ?? 'make failed').split('\n')[0]}); full log: ${logFile}`,
      `read ${logFile}; ${b.fixHint ?? 'fix the tree or the fragments, then run again (the build resumes)'}`,
      buildFailure(text),
    );
  }
  return compiled;
}

/** Escapes a path for use inside a RegExp. */
const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Points the tools/ build's command and dependency files (.*.cmd, .*.d,
 * the only files of a build that name absolute paths) from the seed's
 * directories to this tree's, keeping their times. Pairs apply in order,
 * each to whole path components: the build directory first, since its name
 * may differ (build/, .refprobe-build/) under the source root that follows.
 */
export async function relocateTools(dir: string, pairs: readonly (readonly [string, string])[]): Promise<void> {
  // Whole paths only: preceded by a separator, a flag (-I/x) or a make variable name (deps_/x), followed by a separator.
  const res = pairs.map(([from, to]) => [new RegExp(`(?<=^|[\\s'"=:,;(_]|-[A-Za-z])${reEscape(from)}(?=[/\\s'":;)]|$)`, 'gm'), to] as const);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) await relocateTools(f, pairs);
    else if (e.isFile() && e.name.startsWith('.') && /\.(cmd|d)$/.test(e.name)) {
      const text = await readFile(f, 'utf8');
      let out = text;
      for (const [re, to] of res) out = out.replace(re, () => to);
      if (out === text) continue;
      const st = await stat(f);
      await writeFile(f, out);
      await utimes(f, st.atime, st.mtime);
    }
  }
}

/**
 * Dates every file and directory under dir (not following links) to `to`,
 * directories after their contents: some makefiles (tools/objtool's) name
 * a directory as a prerequisite, and a directory newer than its target
 * rebuilds objtool and then the whole kernel.
 */
async function backdate(dir: string, to: Date): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) await backdate(f, to);
    else if (e.isFile()) await utimes(f, to, to);
  }
  await utimes(dir, to, to);
}

/** Each [from, to] pair as given (absolute) and through symlinks resolved, without repeats. */
export async function relocations(pairs: readonly (readonly [string, string])[]): Promise<[string, string][]> {
  const out = new Map<string, string>();
  for (const [from, to] of pairs) {
    out.set(path.resolve(from), path.resolve(to));
    out.set(await realpath(from), await realpath(to));
  }
  return [...out];
}

/**
 * Copies a complete sibling tree's objects into a cold build directory.
 * The sibling's lock is taken without waiting (a sibling being built or
 * patched is skipped, and two cold runs never wait on each other).
 */
async function seedFrom(b: TreeBuild): Promise<string | null> {
  for (const seed of b.seeds ?? []) {
    if (path.resolve(seed) === path.resolve(b.buildDir)) continue;
    if (!existsSync(path.join(seed, STAMP)) || !existsSync(path.join(seed, 'vmlinux'))) continue;
    const lock = path.join(seed, LOCK);
    if (!(await tryLock(lock))) continue;
    try {
      if (!existsSync(path.join(seed, STAMP))) continue; // dropped just before we locked
      b.progress(`kernel ${b.label}: starting from a copy of ${seed}'s objects (only what differs from it is rebuilt)`);
      await writeFile(path.join(b.buildDir, SEEDING), seed);
      const cp = await execa('cp', ['-a', '--reflink=auto', `${seed}/.`, b.buildDir], { timeout: 600_000, cancelSignal: b.signal, reject: false, all: true });
      if (cp.failed) throw new HarnessError(`kernel ${b.label}: copying ${seed}'s objects failed (${cp.shortMessage?.split('\n')[0] ?? 'cp failed'})`, 'check the free space of the cache (df -h), then run again: the copy starts over', cp.all?.slice(-2000));
      // tools/ records the absolute paths of the tree it was built in, possibly through a symlink: both spellings.
      await relocateTools(path.join(b.buildDir, 'tools'), await relocations([[seed, b.buildDir], [path.dirname(seed), b.source]]));
      // The copy brought the sibling's stamp, log and lock file: none of them is ours.
      await rm(path.join(b.buildDir, STAMP), { force: true });
      await writeFile(path.join(b.buildDir, LOCK), String(process.pid));
      const now = new Date();
      for (const f of b.touchAfterSeed ?? []) await utimes(path.join(b.source, f), now, now).catch(() => undefined); // a file the patch deleted
      if (b.backdateSeedTo) await backdate(b.buildDir, b.backdateSeedTo);
      await rm(path.join(b.buildDir, SEEDING), { force: true });
      return seed;
    } finally {
      await rm(lock, { force: true });
    }
  }
  return null;
}

/**
 * What a failed build's log says, for people: the compiler's errors (the
 * first few, each with the lines gcc prints under it), then make's last
 * words. gcc's notes after an error can be long enough to push the error
 * itself out of a plain tail. Pure.
 */
export function buildFailure(log: string, maxErrors = 5): string {
  const lines = log.split('\n');
  const errors: string[] = [];
  for (let i = 0; i < lines.length && errors.length < maxErrors * 4; i++) {
    if (/(^|\s)(error|fatal error): /.test(lines[i] as string)) errors.push(...lines.slice(i, i + 4));
  }
  const tail = lines.filter((l) => /^make(\[\d+\])?: \*\*\*/.test(l)).slice(0, 3);
  if (errors.length === 0) return lines.slice(-20).join('\n');
  return [...errors, ...(tail.length ? ['...', ...tail] : [])].join('\n');
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

/** tinyconfig, the fragments merged on top, olddefconfig, and every requested option checked. */
async function configure(b: TreeBuild, log: string): Promise<void> {
  const fragment = path.join(b.buildDir, 'refprobe.config');
  await writeFile(fragment, b.fragments.join('\n'));
  b.progress(`kernel ${b.label}: configuring (tinyconfig + ${b.fragments.length} fragments)`);
  await runMake(b, ['tinyconfig'], log, 'tinyconfig');
  const merge = await execa(path.join(b.source, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', b.buildDir, path.join(b.buildDir, '.config'), fragment], {
    all: true,
    reject: false,
    cwd: b.source,
    timeout: 120_000,
  });
  await writeFile(log, `${merge.all ?? ''}\n`, { flag: 'a' });
  const Err = b.untestable ? UntestableError : HarnessError;
  if (merge.failed) throw new Err(`kernel ${b.label}: merging the config fragments failed; log: ${log}`, 'check vm/kernel-config/*.config');
  await runMake(b, ['olddefconfig'], log, 'olddefconfig');
  const unmet = unmetOptions(parseKconfig(b.fragments.join('\n')), parseKconfig(await readFile(path.join(b.buildDir, '.config'), 'utf8')));
  if (unmet.length) {
    throw new Err(
      `kernel ${b.label}: Kconfig did not take ${unmet.length} requested option(s) (a dependency is missing):`,
      'add the missing dependencies to vm/kernel-config/*.config',
      describeMismatches(unmet),
    );
  }
}

export async function buildTree(b: TreeBuild): Promise<BuiltTree> {
  return withTreeLock(b.buildDir, b.label, b.progress, () => buildLocked(b));
}

/**
 * The stamp: the inputs' key, then what the build wrote (bzImage and
 * vmlinux, size and SHA-256). A tree whose outputs no longer match them was
 * damaged after the build; its objects are still good, so only the two
 * outputs go and make links them again.
 */
async function writeStamp(b: TreeBuild, files: { image: string; vmlinux: string }): Promise<void> {
  const outputs = { image: await record(files.image), vmlinux: await record(files.vmlinux) };
  // Whole or not at all: a cut stamp must not pass for one from before records.
  const file = path.join(b.buildDir, STAMP);
  await writeFile(`${file}.tmp`, `${b.inputsKey}\n${JSON.stringify(outputs)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function outputsDamage(stamp: string, files: { image: string; vmlinux: string }): Promise<string | null> {
  const recorded = stamp.split('\n')[1];
  if (recorded === undefined) return null; // a stamp from before records: trusted, and recorded by the caller
  let want: Record<'image' | 'vmlinux', FileRecord | null>;
  try {
    want = JSON.parse(recorded) as Record<'image' | 'vmlinux', FileRecord | null>;
  } catch {
    return `its ${STAMP} cannot be read`;
  }
  for (const k of ['image', 'vmlinux'] as const) {
    const rec = want?.[k];
    if (typeof rec !== 'object' || rec === null) return `its ${STAMP} has no record of ${k}`;
    const why = fileDamage(path.relative(path.dirname(files.vmlinux), files[k]), rec, await record(files[k]).catch(() => null));
    if (why) return why;
  }
  return null;
}

async function buildLocked(b: TreeBuild): Promise<BuiltTree> {
  const t0 = performance.now();
  const files = treeFiles(b.buildDir, b.arch);
  await mkdir(b.buildDir, { recursive: true });
  const stamp = await readFile(path.join(b.buildDir, STAMP), 'utf8').catch(() => '');
  let reused = stamp.split('\n')[0] === b.inputsKey && existsSync(files.image) && existsSync(files.vmlinux);
  let relink = false;
  if (reused) {
    const damage = await outputsDamage(stamp, files);
    if (damage) {
      b.progress(`kernel ${b.label}: ${b.buildDir} is damaged (${damage}); removing bzImage and vmlinux and linking them again`);
      await rm(files.image, { force: true });
      await rm(files.vmlinux, { force: true });
      reused = false;
      relink = true;
    } else if (stamp.split('\n')[1] === undefined) await writeStamp(b, files);
  }
  if (!reused) {
    await rm(path.join(b.buildDir, STAMP), { force: true });
    if (existsSync(path.join(b.buildDir, SEEDING))) {
      // A copy cut short: some files may be half-written with fresh times. Start from nothing.
      b.progress(`kernel ${b.label}: an earlier copy of objects was cut short; removing it`);
      for (const e of await readdir(b.buildDir)) if (e !== LOCK) await rm(path.join(b.buildDir, e), { recursive: true, force: true });
    }
    const seed = existsSync(files.vmlinux) || relink ? null : await seedFrom(b);
    await writeFile(files.log, `# ${new Date().toISOString()} building ${b.label} in ${b.buildDir}${seed ? `, seeded from ${seed}` : ''}\n`);
    await configure(b, files.log);
    const jobs = Math.max(1, os.availableParallelism());
    const how = seed
      ? `incrementally from ${path.basename(path.dirname(seed))}'s objects`
      : existsSync(files.vmlinux)
        ? 'incrementally: only what changed'
        : 'from scratch: about 5 minutes on 2 idle cores';
    const target = ARCHES[b.arch].imageTarget;
    b.progress(`kernel ${b.label}: building ${target} and modules for ${b.arch} with -j${jobs} (${how}); log ${files.log}`);
    await runMake(b, [`-j${jobs}`, target, 'modules'], files.log, 'build');
    await writeStamp(b, files);
  }
  const release = parseUtsRelease(await readFile(path.join(b.buildDir, 'include/generated/utsrelease.h'), 'utf8'));
  return { dir: b.buildDir, ...files, release, reused, seconds: Math.round((performance.now() - t0) / 100) / 10 };
}
