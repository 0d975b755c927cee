import t from 'tap';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePatch, rejectedHunks } from '../../src/kernel/patch.js';
import { applyPatches, patchedTree } from '../../src/kernel/patched-tree.js';
import type { TreeBuild } from '../../src/kernel/build-tree.js';
import { fixture } from '../fixtures.js';

const PATCH = `--- a/a.c
+++ b/a.c
@@ -1,3 +1,3 @@
 one
-two
+TWO
 three
--- a/b.c
+++ b/b.c
@@ -1,3 +1,3 @@
 four
-five
+FIVE
 six
`;

async function tree(bContent = 'four\nfive\nsix\n'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'patched-tree-'));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'Makefile'), 'all:\n');
  await writeFile(path.join(dir, 'a.c'), 'one\ntwo\nthree\n');
  await writeFile(path.join(dir, 'b.c'), bContent);
  return dir;
}

t.test('parsePatch: the files a -p1 diff touches, mbox and deletions included; anything else refused', async (t) => {
  t.same(parsePatch('p', PATCH).files, ['a.c', 'b.c']);
  const mbox = `From 1234 Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] net: x\n\n---\n net/core/dev.c | 1 -\n\ndiff --git a/net/core/dev.c b/net/core/dev.c\n--- a/net/core/dev.c\n+++ b/net/core/dev.c\n@@ -1 +0,0 @@\n-x\n--- a/old.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n-- \n2.39.2\n`;
  t.same(parsePatch('m', mbox).files, ['net/core/dev.c', 'old.c']);
  t.throws(() => parsePatch('x.patch', 'no diff here\n'), /x\.patch: no "\+\+\+ b\/FILE" line: not a unified diff/);
  t.throws(() => parsePatch('x.patch', '--- dev.c\n+++ dev.c\n@@ -1 +1 @@\n-a\n+b\n'), /no a\/ or b\/ prefix.*-p1/);
});

t.test('rejectedHunks: the hunk patch(1) rejected, with its text', async (t) => {
  const text = `${PATCH}@@ -10,3 +10,3 @@\n ten\n-eleven\n+ELEVEN\n twelve\n`;
  const hs = rejectedHunks(text, 'checking file a.c\nchecking file b.c\nHunk #2 FAILED at 10.\n1 out of 2 hunks FAILED\n');
  t.same(hs, [{ file: 'b.c', hunk: 2, text: '@@ -10,3 +10,3 @@\n ten\n-eleven\n+ELEVEN\n twelve' }]);
  t.same(rejectedHunks(PATCH, 'checking file a.c\n'), []);
});

t.test('applyPatches: in order; one that would apply only in part touches nothing and shows its hunk', async (t) => {
  const dir = await tree();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const second = parsePatch('second.patch', '--- a/a.c\n+++ b/a.c\n@@ -1,3 +1,3 @@\n one\n-TWO\n+2\n three\n');
  await applyPatches(dir, [parsePatch('first.patch', PATCH), second]);
  t.equal(await readFile(path.join(dir, 'a.c'), 'utf8'), 'one\n2\nthree\n', 'the second patch applies on top of the first');

  const bad = await tree('four\nsomething else\nsix\n');
  t.teardown(() => rm(bad, { recursive: true, force: true }));
  const e = await applyPatches(bad, [parsePatch('fix.patch', PATCH)]).then(() => null, (x: Error) => x);
  t.match(e?.message, /fix\.patch does not apply to the 6\.1 source:\nb\.c: hunk #1 does not apply:\n@@ -1,3 \+1,3 @@\n four\n-five/);
  t.equal(await readFile(path.join(bad, 'a.c'), 'utf8'), 'one\ntwo\nthree\n', 'the file whose hunk would apply is untouched');
});

t.test('patchedTree: a linked copy patched apart from its source, published whole, reused by key', async (t) => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'patched-cache-'));
  const src = await tree();
  const saved = process.env.REFPROBE_CACHE_DIR;
  process.env.REFPROBE_CACHE_DIR = cache;
  t.teardown(async () => {
    process.env.REFPROBE_CACHE_DIR = saved;
    if (saved === undefined) delete process.env.REFPROBE_CACHE_DIR;
    await rm(cache, { recursive: true, force: true });
    await rm(src, { recursive: true, force: true });
  });
  const base: TreeBuild = { label: 'pcpu', arch: 'x86_64', source: '/nowhere', buildDir: '/nowhere/build', fragments: [], inputsKey: 'k', progress: () => undefined };
  const opts = { base, sourceDir: src, patches: [parsePatch('p', PATCH)], label: 'pcpu+p', progress: () => undefined };
  const tb = await patchedTree(opts);
  t.equal(await readFile(path.join(tb.source, 'b.c'), 'utf8'), 'four\nFIVE\nsix\n');
  t.equal(await readFile(path.join(src, 'b.c'), 'utf8'), 'four\nfive\nsix\n', 'the source it was linked from is unchanged');
  t.equal((await stat(path.join(src, 'b.c'))).nlink, 1, 'the patched file has its own inode');
  t.equal(tb.buildDir, path.join(tb.source, 'build'), 'built in a subdirectory: relative srctree');
  t.same(tb.seeds, ['/nowhere/build'], 'started from the base\'s objects');
  t.equal((await patchedTree(opts)).source, tb.source, 'the same patches: the same tree');
  const onlyA = await patchedTree({ ...opts, patches: [parsePatch('a-only', PATCH.slice(0, PATCH.indexOf('--- a/b.c')))] });
  t.equal((await stat(path.join(onlyA.source, 'b.c'))).ino, (await stat(path.join(src, 'b.c'))).ino, 'a file no patch touches is still the source\'s own (a hard link: same content, same time)');
  t.same(onlyA.touchAfterSeed, ['a.c'], 'the patched file is dated after a seed copy, so make rebuilds it whatever the seed\'s times');
  const other = await patchedTree({ ...opts, patches: [parsePatch('q', PATCH.replace('+FIVE', '+5'))] });
  t.not(other.source, tb.source, 'other patches: another tree');
  t.not(other.inputsKey, tb.inputsKey);

  const bad = patchedTree({ ...opts, patches: [parsePatch('r', PATCH.replace('-five', '-nope'))] });
  await t.rejects(bad, /r does not apply/);
  const left = (await import('node:fs/promises')).readdir(path.join(cache, 'kernels'));
  t.same((await left).filter((n) => n.includes('.tmp-')), [], 'a patch that does not apply leaves no half-made tree');
  t.ok(existsSync(path.join(src, 'a.c')));
});

t.test('patchExit: the base must pass for the patch to be judged', async (t) => {
  const { patchExit, EXIT_BASE_FAILS } = await import('../../src/run/verify-patch.js');
  t.equal(patchExit([0, 0], [0, 0], false), 0, 'both pass');
  t.equal(patchExit([0, 0], [0, 1], false), 1, 'the patch breaks a reading');
  t.equal(patchExit([0], [3], false), 3, 'the patched kernel complains or dies');
  t.equal(patchExit([1], [0], false), EXIT_BASE_FAILS, 'the base fails: no verdict on the patch');
  t.equal(patchExit([3], [1], false), EXIT_BASE_FAILS);
  t.equal(patchExit([0], [2], false), 2, 'a set-up error judges nothing');
  t.equal(patchExit([2], [0], false), 2);
  t.equal(patchExit([0], [0], true), 130, 'interrupted');
  t.not(EXIT_BASE_FAILS, 1);
});

t.test('buildFailure: a real failed build log (test/fixtures/build-log-does-not-build.log) shows the compiler\'s error, not only gcc\'s notes', async (t) => {
  const { buildFailure } = await import('../../src/kernel/build-tree.js');
  const log = fixture('build-log-does-not-build.log');
  const shown = buildFailure(log);
  t.match(shown, /^\.\.\/net\/core\/dev\.c:10406:58: error: .cpu. undeclared/);
  t.match(shown, /refcnt \+= \*per_cpu_ptr\(dev->pcpu_refcnt, cpu\);/, 'the line it is on');
  t.match(shown, /make\[4\]: \*\*\* \[\.\.\/scripts\/Makefile\.build:255: net\/core\/dev\.o\] Error 1/, 'make\'s verdict');
  t.ok(shown.split('\n').length < 15, 'short');
  t.equal(buildFailure('a\nb\n'), 'a\nb\n', 'no compiler error: the tail');
});

t.test('the tree lock: one holder at a time, the pid inside from the start, a dead holder\'s lock taken over', async (t) => {
  const { withTreeLock } = await import('../../src/kernel/build-tree.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tree-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lock = path.join(dir, '.refprobe-lock');
  const order: string[] = [];
  const said: string[] = [];
  const first = withTreeLock(dir, 't', () => undefined, async () => {
    order.push('first in');
    t.equal(await readFile(lock, 'utf8'), String(process.pid), 'the lock names its holder');
    await new Promise((r) => setTimeout(r, 300));
    order.push('first out');
  });
  await new Promise((r) => setTimeout(r, 50));
  // The same process stands for another run here: a lock held by a live pid is waited for.
  const second = withTreeLock(dir, 't', (l) => said.push(l), async () => void order.push('second'));
  await Promise.all([first, second]);
  t.same(order, ['first in', 'first out', 'second'], 'the second waits for the first');
  t.match(said[0], /is building it, waiting/);
  t.notOk(existsSync(lock), 'released');
  await writeFile(lock, '999999999'); // a run that died holding it
  await withTreeLock(dir, 't', () => undefined, async () => t.equal(await readFile(lock, 'utf8'), String(process.pid), 'taken over'));
  t.same((await readdir(dir)).filter((n) => n.startsWith('.refprobe-lock.')), [], 'no temporary lock files left');
});
