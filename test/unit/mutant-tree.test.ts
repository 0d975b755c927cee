import t from 'tap';
import { mkdtemp, mkdir, readFile, rm, writeFile, access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseMutant } from '../../src/kernel/mutant.js';
import { applyMutant, restoreSource, revertMutant } from '../../src/kernel/mutant-tree.js';

const PATCH = `A bug in two files.

--- a/a.c
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
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mutant-tree-'));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'a.c'), 'one\ntwo\nthree\n');
  await writeFile(path.join(dir, 'b.c'), bContent);
  return dir;
}
const exists = (f: string): Promise<boolean> => access(f).then(() => true, () => false);

t.test('apply, revert, and the marker an interrupted run leaves', async (t) => {
  const m = parseMutant('two-files', 'pcpu', PATCH);
  const dir = await tree();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await applyMutant(dir, m);
  t.equal(await readFile(path.join(dir, 'a.c'), 'utf8'), 'one\nTWO\nthree\n');
  t.ok(await exists(path.join(dir, '.refprobe-mutant')), 'the marker holds the applied patch');
  await revertMutant(dir, m);
  t.equal(await readFile(path.join(dir, 'b.c'), 'utf8'), 'four\nfive\nsix\n');
  t.notOk(await exists(path.join(dir, '.refprobe-mutant')));
  // A run killed while the mutant was applied: the next build reverts it.
  await applyMutant(dir, m);
  t.match(await restoreSource(dir), /A bug in two files/);
  t.equal(await readFile(path.join(dir, 'a.c'), 'utf8'), 'one\ntwo\nthree\n', 'reverted');
  t.equal(await restoreSource(dir), null, 'a clean tree: nothing to do');
});

t.test('a patch that would apply only in part touches nothing', async (t) => {
  const m = parseMutant('two-files', 'pcpu', PATCH);
  const dir = await tree('four\nsomething else\nsix\n');
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(applyMutant(dir, m), /does not apply/);
  t.equal(await readFile(path.join(dir, 'a.c'), 'utf8'), 'one\ntwo\nthree\n', 'the file whose hunk would apply is untouched');
  t.notOk(await exists(path.join(dir, '.refprobe-mutant')));
});

t.test('a tree holding part of a patch is refused, never built', async (t) => {
  const dir = await tree();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'a.c'), 'one\nTWO\nthree\n');
  await writeFile(path.join(dir, '.refprobe-mutant'), PATCH);
  await t.rejects(restoreSource(dir), /holds part of a mutant/);
});
