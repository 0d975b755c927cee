/**
 * A user's own git tree: --kernel-tree builds it (incrementally, out of its
 * sources in DIR/.refprobe-build), --patch verifies a patch on it without
 * touching it, and git bisect run finds the commit that broke the count,
 * skipping one that does not build. The tree is a real git history of
 * linux-source-6.1 made here: the release, a harmless commit, one that does
 * not build, its revert, and a bug from vm/mutants/.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cacheRoot } from '../../src/cache/cache.js';
import { buildVariant } from '../../src/kernel/build-variant.js';
import { parsePatch } from '../../src/kernel/patch.js';
import { applyPatches } from '../../src/kernel/patched-tree.js';
import { kernelSource } from '../../src/kernel/source.js';
import { SOURCES } from '../../src/kernel/variants.js';
import { repoRoot } from '../fixtures.js';
import { OUT, strayQemus, streamProgress, VM_TEST, vmTest } from '../vm-harness.js';

// In the cache: on the same file system as the unpacked source, so the tree is linked, not copied.
const work = path.join(cacheRoot(), 'test-user-tree');
const tree = path.join(work, 'linux');
const progress = (l: string): void => void process.stderr.write(`  | ${l}\n`);
const IDENTITY = { GIT_AUTHOR_NAME: 'Ada Kernel', GIT_AUTHOR_EMAIL: 'ada@example.org', GIT_COMMITTER_NAME: 'Ada Kernel', GIT_COMMITTER_EMAIL: 'ada@example.org' };
const git = async (...args: string[]): Promise<string> => (await execa('git', ['-C', tree, ...args], { env: IDENTITY, timeout: 300_000 })).stdout.trim();
const patchFile = (rel: string): string => path.join(repoRoot, rel);

/** Commits the patch (applied as the harness applies patches: every file it touches unlinked from the shared source first). */
async function commitPatch(rel: string, subject: string): Promise<string> {
  await applyPatches(tree, [parsePatch(rel, await readFile(patchFile(rel), 'utf8'))]);
  await git('commit', '-q', '-a', '-m', subject);
  return git('rev-parse', 'HEAD');
}

let unpacked = '';
let release = '';
let harmless = '';

t.before(async () => {
  // The tree starts from the pcpu kernel's objects: build (or reuse) it first.
  await buildVariant('pcpu', { repoRoot, progress });
  unpacked = (await kernelSource(SOURCES['6.1'].tarball, progress)).dir;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await execa('cp', ['-al', unpacked, tree]);
  await git('init', '-q');
  // No background repacking of the 70,000 new objects while the kernels build and boot.
  await git('config', 'gc.auto', '0');
  // -f: Debian's linux-source .gitignore ignores every top-level entry (it packages the tree, not a repository).
  await git('add', '-f', '-A');
  await git('commit', '-q', '-m', 'Linux 6.1 (linux-source-6.1)');
  release = await git('rev-parse', 'HEAD');
  // The tree differs from linux-source-6.1 before its first build: the harness must neither trust the cached objects for net/core/dev.c nor re-date the user's file.
  harmless = await commitPatch('test/fixtures/patches/comment.patch', 'net: document netdev_refcnt_read()');
});
t.teardown(() => rm(work, { recursive: true, force: true }));

t.test('--patch on the user\'s tree: the bug in the patch is found, the tree is not touched', async (t) => {
  const devc = path.join(tree, 'net/core/dev.c');
  const before = await stat(devc, { bigint: true });
  const r = await vmTest(['--patch', patchFile('vm/mutants/pcpu/sum-in-short.patch'), '--kernel-tree', tree, '--topology', '2:4', '--scenario', 'extremes'], 1_500_000);
  t.equal(r.exitCode, 1, `exit status 1\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /PATCH FAILS: 1 scenario\(s\) fail on linux\+patch that pass on linux; first: extremes/);
  t.match(r.stderr, /kernel linux: starting from a copy of \S+src-pcpu-[0-9a-f]+\/build's objects/, 'the tree\'s first build started from the pcpu kernel\'s objects');
  t.match(r.stderr, /kernel linux: 1 file\(s\) differ from linux-source-6\.1 \(net\/core\/dev\.c\): the copied objects are dated/, 'the one file the tree changed is found');
  const base = /^\s*CC\s+net\/core\/dev\.o$/m.test(await readFile(path.join(tree, '.refprobe-build/build.log'), 'utf8'));
  t.ok(base, 'and what depends on it is compiled, not taken from the cache');
  const made = /kernel linux\+patch: make compiled (\d+) objects: (.*)$/m.exec(r.stderr);
  if (!made) return t.fail('no build of the patched kernel reported');
  t.ok(made[2]?.split(', ').includes('net/core/dev.o'), 'the patched file is compiled in the copy');
  t.ok(Number(made[1]) <= 10, `a rebuild of the file, not of the kernel: ${made[1]} objects (${made[2]})`);
  const copy = /linux\+patch (\S+) \(built in [\d.]+ s in a copy of the tree, removed after the runs\)/.exec(r.stderr)?.[1];
  t.ok(copy && !existsSync(path.dirname(copy)), `the copy of the tree is gone after the runs (${copy})`);
  const after = await stat(devc, { bigint: true });
  t.equal(after.ino, before.ino, 'the tree\'s net/core/dev.c is the same file');
  t.equal(after.mtimeNs, before.mtimeNs, '... with its own time: the harness re-dates nothing of the user\'s');
  t.equal((await stat(path.join(tree, 'net/core/sock.c'))).ino, (await stat(path.join(unpacked, 'net/core/sock.c'))).ino, 'a file nobody changed is still linked to the unpacked source: nothing wrote to it');
  t.equal(await git('status', '--porcelain'), '', 'git sees no change in the tree');
  t.same(await strayQemus(), []);
});

t.test('git bisect run finds the bad commit and skips the one that does not build', async (t) => {
  const broken = await commitPatch('test/fixtures/patches/does-not-build.patch', 'net: a change that does not build');
  await git('revert', '--no-edit', 'HEAD');
  const fixed = await git('rev-parse', 'HEAD');
  const bad = await commitPatch('vm/mutants/pcpu/sum-in-short.patch', 'net: sum the per-CPU counters in a short');
  await git('bisect', 'start', bad, release);
  const run = await streamProgress(
    execa('git', ['bisect', 'run', 'node', VM_TEST, '--out', OUT, '--kernel-tree', tree, '--bisect', '--scenario', 'extremes'], { cwd: tree, env: IDENTITY, reject: false, all: true, timeout: 2_400_000 }),
  );
  const log = await git('bisect', 'log');
  await git('bisect', 'reset');
  t.equal(run.exitCode, 0, `git bisect run succeeded\n${run.all?.slice(-8000)}`);
  t.match(run.stdout, new RegExp(`^${bad} is the first bad commit`, 'm'), 'the bug\'s commit is named');
  t.match(run.all, /vm-test: bisect: skip \(this commit cannot be judged\) \(exit 125\): kernel linux: build failed/, 'the commit that does not build was skipped, not called bad');
  t.match(log, new RegExp(`git bisect skip ${broken}`), `git's log: ${broken.slice(0, 12)} skipped`);
  t.match(log, new RegExp(`git bisect good (${fixed}|${harmless})`), 'a good commit was tested');
  t.same(await strayQemus(), []);
});

t.test('a 6.12 tree: --patch --kernel-tree starts from the pcpu-6.12 kernel\'s objects and judges with 6.12\'s rules', async (t) => {
  await buildVariant('pcpu-6.12', { repoRoot, progress });
  const source = (await kernelSource(SOURCES['6.12'].tarball, progress, SOURCES['6.12'].package)).dir;
  const tree612 = path.join(work, 'linux-6.12');
  await execa('cp', ['-al', source, tree612]);
  const r = await vmTest(['--patch', patchFile('vm/mutants/pcpu-6.12/sum-in-short.patch'), '--kernel-tree', tree612, '--topology', '2:4', '--scenario', 'extremes'], 1_500_000);
  t.equal(r.exitCode, 1, `exit status 1\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /kernel linux-6\.12: starting from a copy of \S+src-pcpu-6\.12-[0-9a-f]+\/build's objects/, 'seeded from pcpu-6.12, not from 6.1\'s pcpu');
  t.match(r.stderr, /kernel linux-6\.12: no file differs from linux-source-6\.12/);
  t.match(r.stderr, /PATCH FAILS: 1 scenario\(s\) fail on linux-6\.12\+patch that pass on linux-6\.12; first: extremes/);
  t.match(r.stderr, /model: kernel 6\.12\.\d+: the rules of 6\.12, read from Debian's linux-source-6\.12/, 'the release\'s rules, from the built kernel\'s version');
  const made = /kernel linux-6\.12\+patch: make compiled (\d+) objects: (.*)$/m.exec(r.stderr);
  t.ok(made && Number(made[1]) <= 10, `the patched kernel rebuilt its file, not the kernel: ${made?.[1]} objects`);
  t.same(await strayQemus(), []);
});
