/**
 * `--kernel-tree DIR`: the user's own kernel tree, built by the harness
 * before every run, incrementally (make rebuilds what changed since the
 * last run: a git bisect step, an edit), so a commit is one command away
 * from a verdict. Three kinds of DIR:
 *
 *  - a configured source tree (DIR/.config): built in place with the
 *    user's config, after checking it has what the suite needs;
 *  - a kbuild output directory (make O=DIR; DIR/source names the source):
 *    built there, the same way;
 *  - a clean source tree (no .config): built out of tree in
 *    DIR/.refprobe-build (git ignores it: the kernel's .gitignore ignores
 *    dot-files) with the suite's pcpu configuration. The first build starts
 *    from a copy of the cached pcpu kernel's objects of its release (pcpu,
 *    pcpu-6.12) when DIR holds the same version; when files differ from that
 *    linux-source, the copied objects
 *    are dated before the oldest of them, so make rebuilds whatever could
 *    depend on one (never the user's files: their times are theirs).
 *
 * The tree's sources are never changed, not even their times; a build that
 * fails makes the kernel untestable (exit 125, git bisect's "skip"), not a
 * set-up error.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, realpath, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { cacheRoot, hashOf } from '../cache/cache.js';
import { HarnessError } from '../errors.js';
import { ARCHES, archOfConfig, hostArch } from './arch.js';
import { buildTree, relocateTools, relocations, runMake, TREE_LOCK, withTreeLock, type BuiltTree, type TreeBuild } from './build-tree.js';
import type { Patch } from './patch.js';
import { applyPatches, prune } from './patched-tree.js';
import { describeMismatches, parseKconfig, unmetOptions } from './config.js';
import { variantFragments, variantTarball, variantTree, type VariantBuildOptions } from './build-variant.js';
import { DEFAULT_RELEASE, SOURCES, sourceReleaseOf, variantName } from './variants.js';
import { parseUtsRelease } from './release.js';
import { makefileVersion } from './source.js';

export type TreeKind = 'configured' | 'output' | 'clean';

export interface TreeLayout {
  kind: TreeKind;
  /** The source tree (absolute). */
  source: string;
  /** Where make puts the objects (absolute): the source itself, the output directory, or source/.refprobe-build. */
  buildDir: string;
}

/** The build directory of a clean source tree: a dot-name, so git and the kernel's .gitignore leave it alone. */
export const OWN_BUILD_DIR = '.refprobe-build';

/**
 * What the suite needs from a kernel it did not configure: modules and
 * debugfs for refprobe, networking for net_device, a serial console and an
 * initramfs (gzip) with busybox for the guest. Without SMP or CPU hotplug
 * the scenarios that need them skip; a PVH-less kernel boots as bzImage.
 */
export const SUITE_NEEDS: ReadonlyMap<string, string> = new Map([
  ['CONFIG_MODULES', 'y'],
  ['CONFIG_MODULE_UNLOAD', 'y'],
  ['CONFIG_DEBUG_FS', 'y'],
  ['CONFIG_NET', 'y'],
  ['CONFIG_NETDEVICES', 'y'],
  ['CONFIG_PRINTK', 'y'],
  ['CONFIG_TTY', 'y'],
  ['CONFIG_SERIAL_8250', 'y'],
  ['CONFIG_SERIAL_8250_CONSOLE', 'y'],
  ['CONFIG_BLK_DEV_INITRD', 'y'],
  ['CONFIG_RD_GZIP', 'y'],
  ['CONFIG_BINFMT_ELF', 'y'],
  ['CONFIG_BINFMT_SCRIPT', 'y'],
  ['CONFIG_PROC_FS', 'y'],
  ['CONFIG_SYSFS', 'y'],
  ['CONFIG_DEVTMPFS', 'y'],
]);

export async function treeLayout(dir: string): Promise<TreeLayout> {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new HarnessError(`--kernel-tree ${dir}: no such directory`, 'pass the top directory of a Linux source tree (or of its make O= build directory)');
  const has = (f: string): boolean => existsSync(path.join(abs, f));
  if (has('Kconfig') && has('Makefile') && has('scripts/kconfig')) {
    if (has('.config')) return { kind: 'configured', source: abs, buildDir: abs };
    // kbuild refuses to build out of a tree an in-tree build left objects in.
    const left = ['include/config', 'arch/x86/include/generated'].find(has);
    if (left) throw new HarnessError(`--kernel-tree ${dir} has no .config but an in-tree build left ${left} behind: kbuild cannot build it out of tree`, `run make -C ${abs} mrproper (it removes every object), or configure it (make -C ${abs} olddefconfig) to build it in place`);
    return { kind: 'clean', source: abs, buildDir: path.join(abs, OWN_BUILD_DIR) };
  }
  if (has('.config') && has('Makefile') && has('source/Kconfig')) return { kind: 'output', source: await realpath(path.join(abs, 'source')), buildDir: abs };
  throw new HarnessError(
    `--kernel-tree ${dir} is neither a Linux source tree (no Kconfig and scripts/kconfig) nor a kbuild output directory (no .config and source/)`,
    'pass the top directory of a Linux source tree, configured or not, or the O= directory it was built in',
  );
}

/** The suite's needs the user's config lacks, as an error that says how to add them; null when it has them all. Pure. */
export function configProblem(dotconfig: string, configFile: string): HarnessError | null {
  const unmet = unmetOptions(SUITE_NEEDS, parseKconfig(dotconfig));
  if (unmet.length === 0) return null;
  const dir = path.dirname(configFile);
  return new HarnessError(
    `${configFile} lacks ${unmet.length} option(s) the suite needs:`,
    `scripts/config --file ${configFile} ${unmet.map((m) => `-e ${m.option.replace(/^CONFIG_/, '')}`).join(' ')} && make -C ${dir} olddefconfig; or run make -C ${dir} mrproper (it removes the .config and every object) and the harness builds the tree with its own configuration in ${OWN_BUILD_DIR}/`,
    describeMismatches(unmet),
  );
}

/** Files that differ between two copies of a source tree (same inode, or same bytes, is the same), with the user's copy's time. */
async function differingFiles(user: string, reference: string): Promise<{ file: string; mtimeMs: number }[]> {
  const out: { file: string; mtimeMs: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(reference, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (rel === '' && (e.name === 'build' || e.name.startsWith('.refprobe'))) continue; // the reference's own objects and marks
      if (e.isDirectory()) {
        await walk(r);
        continue;
      }
      if (!e.isFile()) continue;
      const [a, b] = await Promise.all([lstat(path.join(user, r)).catch(() => null), lstat(path.join(reference, r))]);
      if (!a) continue; // gone from the user's tree: kbuild rebuilds what named it (fixdep's empty rules)
      if (a.ino === b.ino && a.dev === b.dev) continue;
      if (a.size === b.size && (await readFile(path.join(user, r))).equals(await readFile(path.join(reference, r)))) continue;
      out.push({ file: r, mtimeMs: a.mtimeMs });
    }
  };
  await walk('');
  return out;
}

/**
 * A header the user's tree has and the reference has not, if any: it may
 * shadow another on the include path (arch/x86/include/asm/x.h over
 * asm-generic's), and no copied object's dependencies name it, so no date
 * would make make rebuild what it changes.
 */
async function newHeader(user: string, reference: string): Promise<string | null> {
  const walk = async (rel: string): Promise<string | null> => {
    for (const e of await readdir(path.join(user, rel), { withFileTypes: true })) {
      if (rel === '' && (e.name === '.git' || e.name === OWN_BUILD_DIR)) continue;
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        const found = await walk(r);
        if (found) return found;
      } else if (e.name.endsWith('.h') && !existsSync(path.join(reference, r))) return r;
    }
    return null;
  };
  return walk('');
}

/** VERSION.PATCHLEVEL.SUBLEVEL of a tree's top Makefile, or null when it has none: seeding needs the same release. */
async function treeVersion(dir: string): Promise<string | null> {
  try {
    return makefileVersion(await readFile(path.join(dir, 'Makefile'), 'utf8'));
  } catch {
    return null;
  }
}

const UNTESTABLE_HINT = 'fix the tree so that it builds (a kernel that does not build cannot be judged: vm-test exits 125, which git bisect run takes as skip)';

export interface UserTreeOptions extends VariantBuildOptions {
  label: string;
}

/**
 * A clean source tree, built in its .refprobe-build with the pcpu
 * configuration, seeded from the cached pcpu kernel of its release (pcpu for
 * 6.1, pcpu-6.12 for 6.12) when that is built and of the same version.
 */
async function cleanTree(layout: TreeLayout, o: UserTreeOptions): Promise<TreeBuild> {
  const mine = await treeVersion(layout.source);
  const release = mine === null ? null : sourceReleaseOf(mine);
  const variant = variantName('pcpu', release ?? DEFAULT_RELEASE);
  const fragments = await variantFragments(variant, o.repoRoot);
  const b: TreeBuild = {
    label: o.label,
    // The pcpu configuration is x86-64's: a tree for another architecture comes configured (builtInPlace).
    arch: 'x86_64',
    source: layout.source,
    buildDir: layout.buildDir,
    fragments,
    // Never the same: the tree's sources change under us (git checkout), so make always runs.
    inputsKey: `user-tree ${Date.now()} ${process.pid}`,
    progress: o.progress,
    signal: o.signal,
    untestable: true,
    fixHint: UNTESTABLE_HINT,
  };
  if (existsSync(path.join(layout.buildDir, 'vmlinux')) || release === null) return b;
  const pkg = SOURCES[release].package;
  if (!existsSync(variantTarball(variant, o).tarball)) {
    o.progress(`kernel ${o.label}: ${pkg} is not installed, so there are no cached ${variant} objects to start from: building from nothing (apt-get install ${pkg} for next time)`);
    return b;
  }
  const pcpu = await variantTree(variant, o);
  if (!existsSync(path.join(pcpu.buildDir, 'vmlinux'))) return b;
  const theirs = await treeVersion(pcpu.source);
  if (mine !== theirs) return b;
  o.progress(`kernel ${o.label}: comparing ${layout.source} with ${pkg}, to start from the ${variant} kernel's objects`);
  const added = await newHeader(layout.source, pcpu.source);
  if (added) {
    o.progress(`kernel ${o.label}: ${added} is not in ${pkg} and may shadow a header the cached objects used: building from nothing`);
    return b;
  }
  const differ = await differingFiles(layout.source, pcpu.source);
  if (differ.length === 0) {
    o.progress(`kernel ${o.label}: no file differs from ${pkg}`);
    return { ...b, seeds: [pcpu.buildDir] };
  }
  // Whole seconds: the copy's times must be older, not merely equal to within a tick.
  const before = new Date(Math.floor(Math.min(...differ.map((d) => d.mtimeMs)) / 1000) * 1000 - 1000);
  const names = differ.map((d) => d.file);
  o.progress(`kernel ${o.label}: ${differ.length} file(s) differ from ${pkg} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}): the copied objects are dated ${before.toISOString()}, before the oldest of them, so make rebuilds what they reach`);
  return { ...b, seeds: [pcpu.buildDir], backdateSeedTo: before };
}

/** Builds the tree in place (configured or output kind) with make's own incrementality. */
async function builtInPlace(layout: TreeLayout, o: UserTreeOptions, failure = { fixHint: UNTESTABLE_HINT, untestable: true }): Promise<BuiltTree> {
  const configFile = path.join(layout.buildDir, '.config');
  const configText = await readFile(configFile, 'utf8');
  const problem = configProblem(configText, configFile);
  if (problem) throw problem;
  const arch = archOfConfig(configText) ?? hostArch();
  const log = path.join(layout.buildDir, '.refprobe-build.log');
  const b: TreeBuild = {
    label: o.label,
    arch,
    source: layout.source,
    buildDir: layout.buildDir,
    fragments: [],
    inputsKey: '',
    progress: o.progress,
    signal: o.signal,
    ...failure,
  };
  const t0 = performance.now();
  return withTreeLock(layout.buildDir, o.label, o.progress, async () => {
    await writeFile(log, `# ${new Date().toISOString()} building ${o.label} in ${layout.buildDir}\n`);
    const jobs = Math.max(1, os.availableParallelism());
    const target = ARCHES[arch].imageTarget;
    o.progress(`kernel ${o.label}: make -j${jobs} ${target} modules in ${layout.buildDir} (its own .config, ${arch}; only what changed is rebuilt); log ${log}`);
    const compiled = await runMake(b, [`-j${jobs}`, target, 'modules'], log, 'build');
    o.progress(`kernel ${o.label}: make compiled ${compiled.length} objects${compiled.length ? `: ${compiled.slice(0, 12).join(', ')}${compiled.length > 12 ? ', ...' : ''}` : ''}`);
    const release = parseUtsRelease(await readFile(path.join(layout.buildDir, 'include/generated/utsrelease.h'), 'utf8'));
    return {
      dir: layout.buildDir,
      image: path.join(layout.buildDir, ARCHES[arch].image),
      vmlinux: path.join(layout.buildDir, 'vmlinux'),
      release,
      log,
      reused: false,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
  });
}

/** The user's tree, built (incrementally) and ready to boot; its build directory is what discoverKernel takes. */
export async function buildUserTree(dir: string, o: UserTreeOptions): Promise<BuiltTree> {
  const layout = await treeLayout(dir);
  if (layout.kind !== 'clean') return builtInPlace(layout, o);
  return buildTree(await cleanTree(layout, o));
}

/** The files git does not track (objects, .config, generated headers), or null when the tree is not the top of a git checkout. */
async function untrackedFiles(dir: string): Promise<string[] | null> {
  const top = await execa('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { reject: false, timeout: 60_000 });
  if (top.failed || path.resolve(top.stdout.trim()) !== (await realpath(dir))) return null;
  // --others without --exclude: ignored files too (a build's objects are ignored).
  const r = await execa('git', ['-C', dir, 'ls-files', '-z', '--others'], { timeout: 300_000, maxBuffer: 1 << 30 });
  return r.stdout.split('\0').filter(Boolean);
}

/** Runs cp, turning its failure into an error that says what to do. */
async function cp(args: string[], what: string, cwd?: string): Promise<void> {
  const r = await execa('cp', args, { cwd, reject: false, all: true, timeout: 1_800_000 });
  if (r.failed) throw new HarnessError(`${what} failed: ${(r.all ?? r.shortMessage ?? '').split('\n').slice(0, 3).join(' | ')}`, 'check the free space of the cache (df -h) and that it can read the tree');
}

/**
 * A copy of the user's tree to patch and build: sources hard-linked (patch
 * replaces a file it changes, so the user's stays as it was), everything git
 * does not track (the objects: make may rewrite one in place) copied with
 * cp -a, times to the nanosecond. .git becomes a link to the user's: kbuild's
 * setlocalversion only reads it, and the release string stays the tree's.
 * A tree that is not a git checkout, or on another file system than the
 * cache, is copied whole.
 */
async function copyTree(source: string, copy: string, progress: (l: string) => void): Promise<void> {
  await mkdir(copy, { recursive: true });
  const entries = (await readdir(source)).filter((e) => e !== '.git');
  const untracked = await untrackedFiles(source);
  const whole = async (why: string): Promise<void> => {
    progress(`copying ${source} to ${copy} (${why}: every file is copied)`);
    await cp(['-a', '--reflink=auto', ...entries.map((e) => path.join(source, e)), copy], `copying ${source}`);
  };
  if (untracked === null) return whole('not a git checkout');
  progress(`copying ${source} to ${copy}: the tracked sources linked, ${untracked.length} untracked files (the objects) copied`);
  const linked = await execa('cp', ['-al', ...entries.map((e) => path.join(source, e)), copy], { reject: false, all: true, timeout: 1_800_000 });
  if (linked.failed) {
    await rm(copy, { recursive: true, force: true });
    await mkdir(copy, { recursive: true });
    return whole('another file system than the cache');
  }
  for (let i = 0; i < untracked.length; i += 500) {
    const chunk = untracked.slice(i, i + 500);
    await Promise.all(chunk.map((f) => rm(path.join(copy, f), { force: true })));
    await cp(['-a', '--reflink=auto', '--parents', '-t', copy, '--', ...chunk], `copying ${source}'s objects`, source);
  }
  await symlink(path.join(await realpath(source), '.git'), path.join(copy, '.git'));
}

export interface UserPatchPair {
  base: BuiltTree;
  /** In a copy of the tree, made again on every run (the tree may have changed since). */
  patched: BuiltTree;
  /** Removes the copy: call it when its kernel is no longer needed. */
  remove: () => Promise<void>;
}

/**
 * --patch FILE --kernel-tree DIR: DIR built as it is (the base), then a copy
 * of it with the patches applied, built from a copy of DIR's objects, so
 * only what the patches reach is rebuilt. DIR's sources are never changed.
 */
export async function userPatchPair(dir: string, patches: readonly Patch[], o: UserTreeOptions, patchedLabel: string): Promise<UserPatchPair> {
  const layout = await treeLayout(dir);
  if (layout.kind === 'output') {
    throw new HarnessError(`--patch with --kernel-tree ${dir}, a build directory`, `pass its source tree (${layout.source}): the patch applies there, and a copy of both is patched`);
  }
  const base = await buildUserTree(dir, o);
  o.progress(`kernel ${o.label}: built ${base.dir} (${base.seconds} s)`);
  const root = path.join(cacheRoot(), 'kernels');
  await prune(root, o.progress);
  const copy = path.join(root, `patched-${o.label}-${hashOf(await realpath(layout.source))}.tmp-${process.pid}`);
  const remove = (): Promise<void> => rm(copy, { recursive: true, force: true });
  try {
    // Under the tree's lock: no other run is building it while its objects are copied.
    await withTreeLock(layout.buildDir, o.label, o.progress, () => copyTree(layout.source, copy, o.progress));
    const copyBuild = path.join(copy, path.relative(layout.source, layout.buildDir));
    // The copy was made under the tree's lock: the lock file came with it, and names this very process.
    await rm(path.join(copyBuild, TREE_LOCK), { force: true });
    await relocateTools(path.join(copyBuild, 'tools'), await relocations([[layout.buildDir, copyBuild], [layout.source, copy]]));
    await applyPatches(copy, patches, layout.source, layout.source, layout.source);
    const now = new Date();
    for (const f of new Set(patches.flatMap((p) => p.files))) await utimes(path.join(copy, f), now, now).catch(() => undefined); // a file the patch deleted
    const fix = `fix the patch (${patches.map((p) => p.name).join(', ')}) so that ${layout.source} builds with it, then run again`;
    // A patch that does not build is the patch's fault (exit 2), not an untestable tree.
    const patched = await builtInPlace({ kind: layout.kind, source: copy, buildDir: copyBuild }, { ...o, label: patchedLabel }, { fixHint: fix, untestable: false });
    return { base, patched, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
