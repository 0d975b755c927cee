/**
 * vm-test --patch: a patch in hand, one command from a verdict. On the pcpu
 * variant from linux-source-6.1 (built by the mutants test before this one,
 * or here): a harmless patch passes with no difference and is built from
 * the base's objects (a rebuild of the file it touches, not a kernel); a
 * mutant given as a patch fails with the scenario that kills it; a patch
 * that does not apply or does not build gets its error, exit 2, and
 * nothing is left behind; the base's source is never changed.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot } from '../../src/cache/cache.js';
import { repoRoot } from '../fixtures.js';
import { matrixReportOf, strayQemus, vmTest } from '../vm-harness.js';

const PATCHES = path.join(repoRoot, 'test/fixtures/patches');
const kernels = path.join(cacheRoot(), 'kernels');

/** The base's copy of the file the patches touch, and the unpacked source it is linked from. */
async function baseFile(): Promise<{ base: string; source: string }> {
  const src = (await readdir(kernels)).find((n) => /^src-pcpu-[0-9a-f]+$/.test(n));
  const key = src?.replace(/^src-pcpu-/, '') ?? '';
  const unpacked = (await readdir(path.join(cacheRoot(), 'src'))).find((n) => n === key) ?? '';
  return { base: path.join(kernels, src ?? 'missing', 'net/core/dev.c'), source: path.join(cacheRoot(), 'src', unpacked, 'net/core/dev.c') };
}
const sha = async (f: string): Promise<string> => createHash('sha256').update(await readFile(f)).digest('hex');
const leftovers = async (): Promise<string[]> => (await readdir(kernels)).filter((n) => n.includes('.tmp-'));

t.test('a harmless patch (a comment, as git format-patch writes it) passes with no difference, built from the base\'s objects', async (t) => {
  const r = await vmTest(['--patch', path.join(PATCHES, 'comment.patch'), '--topology', '3:4'], 1_500_000);
  t.equal(r.exitCode, 0, `exit status 0\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /PATCH PASSES: pcpu\+patch matched the model wherever pcpu did \(no difference, \d+ unchanged\)/);
  t.match(r.stdout, /^ok [12] - pcpu-smp3-possible4$/m, 'TAP: the base (cells are numbered as they finish)');
  t.match(r.stdout, /^ok [12] - pcpu\+patch-smp3-possible4$/m, 'TAP: the patched kernel');
  t.match(r.stderr, /^\| pcpu-smp3-possible4 \/ pcpu\+patch-smp3-possible4 \| extremes \| pass \| pass \| unchanged \|/m, 'side by side, per scenario');
  const matrix = await matrixReportOf(r.stderr);
  t.same(matrix.cells.map((c) => c.label).sort(), ['pcpu+patch-smp3-possible4', 'pcpu-smp3-possible4']);
  const tree = /pcpu\+patch (\S+) \(built in/.exec(r.stderr)?.[1];
  if (!tree) return t.fail('no patched tree named');
  // The build log is the tree's first build's, kept when it is reused: what that build compiled.
  const log = await readFile(path.join(tree, 'build.log'), 'utf8');
  t.match(log, /seeded from \S+src-pcpu-[0-9a-f]+\/build/, 'started from a copy of the base\'s objects');
  const compiled = [...log.matchAll(/^\s+CC\s+(\S+)/gm)].map((m) => m[1]);
  t.ok(compiled.includes('net/core/dev.o'), 'the patched file is compiled');
  t.ok(compiled.length <= 10, `a rebuild of the file, not of the kernel: ${compiled.length} objects compiled (${compiled.join(', ')})`);
  t.same(await strayQemus(), []);
});

t.test('a mutant given as --patch fails with the scenario that kills it', async (t) => {
  const r = await vmTest(['--patch', path.join(repoRoot, 'vm/mutants/pcpu/sum-in-short.patch'), '--topology', '2:4', '--scenario', 'extremes'], 1_500_000);
  t.equal(r.exitCode, 1, `exit status 1\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /PATCH FAILS: 1 scenario\(s\) fail on pcpu\+patch that pass on pcpu; first: extremes \(pcpu-smp2-possible4 \/ pcpu\+patch-smp2-possible4\): a reading differed from the model: hold rpbig0 x100000 on CPU \d: - "refcnt": 100\d{3}, \+ "refcnt": -\d+/);
  t.match(r.stderr, /^\| [^|]+ \| extremes \| pass \| fail \| \*\*regressed\*\* \|/m);
  t.match(r.stdout, /^ok [12] - pcpu-smp2-possible4$/m);
  t.match(r.stdout, /^not ok [12] - pcpu\+patch-smp2-possible4$/m);
});

t.test('a patch that does not apply: the file and the rejected hunk, exit 2, nothing left behind', async (t) => {
  const before = await baseFile();
  const hash = await sha(before.base);
  const r = await vmTest(['--patch', path.join(PATCHES, 'does-not-apply.patch')]);
  t.equal(r.exitCode, 2, `exit status 2\n${r.all}`);
  t.match(r.stderr, /does-not-apply\.patch does not apply to the 6\.1 source:\nnet\/core\/dev\.c: hunk #1 does not apply:\n@@ -10402,7 \+10402,7 @@[^\n]*\n #ifdef CONFIG_PCPU_DEV_REFCNT\n-\tint i;/);
  t.match(r.stderr, /refresh the patch against linux-source-6\.1/);
  t.same(await leftovers(), [], 'no half-made tree in the cache');
  t.equal(await sha(before.base), hash, 'the base\'s source is unchanged');
});

t.test('a patch that does not build: the compiler\'s error, where the whole log is, exit 2', async (t) => {
  const r = await vmTest(['--patch', path.join(PATCHES, 'does-not-build.patch')], 900_000);
  t.equal(r.exitCode, 2, `exit status 2\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /kernel pcpu\+patch: build failed .*; full log: \S+\/build\.log/);
  t.match(r.stderr, /net\/core\/dev\.c:\d+:\d+: error: .cpu. undeclared/, 'the tail of the build log names the error');
  const log = /full log: (\S+build\.log)/.exec(r.stderr)?.[1];
  t.ok(log && existsSync(log), 'the log is where it says');
  t.notMatch(r.stdout, /^ok /m, 'no run on a kernel that did not build');
});

t.test('the base variant\'s source is byte for byte the unpacked 6.1 source after all of the above', async (t) => {
  const f = await baseFile();
  t.equal(await sha(f.base), await sha(f.source), 'same content');
  t.equal((await stat(f.base)).ino, (await stat(f.source)).ino, 'still the same file: the base was never patched, not even and back');
  t.same(await strayQemus(), []);
});
