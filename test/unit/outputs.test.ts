/**
 * A run's files go to disk whole or not at all, and a disk that refuses
 * them costs the files, never the verdict: writes are temp + rename, a
 * failure is said in words and remembered, and bad output paths are
 * refused before any VM starts.
 */
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appender, checkOutputPaths, lostOutputs, writeFailure, writeOutput } from '../../src/run/outputs.js';

t.test('writeOutput: the whole file by rename; a refused write is said and remembered, not thrown', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-outputs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const said: string[] = [];
  t.equal(await writeOutput(path.join(dir, 'report.json'), '{"ok":true}\n', (l) => said.push(l)), true);
  t.equal(await readFile(path.join(dir, 'report.json'), 'utf8'), '{"ok":true}\n');
  t.same(await readdir(dir), ['report.json'], 'no temp file left');
  await writeFile(path.join(dir, 'file'), '');
  t.equal(await writeOutput(path.join(dir, 'file', 'report.json'), 'x', (l) => said.push(l)), false, 'a path through a file cannot be written');
  t.match(said[0], /could not write .*file\/report\.json: a part of the path is a file, not a directory \((ENOTDIR|EEXIST)\)|could not write .*file\/report\.json: .*\(EEXIST\)/);
  t.equal(lostOutputs().length, 1);
  const tap = appender(path.join(dir, 'file', 'tap.txt'), (l) => said.push(l));
  await tap('TAP version 14\n');
  await tap('1..1\n');
  t.equal(said.length, 2, 'a growing file that cannot be written is given up once, said once');
});

t.test('writeFailure: the errno in words', async (t) => {
  const e = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
  t.equal(writeFailure('/o/r.json', e('ENOSPC')), '/o/r.json: no space left on the device (ENOSPC)');
  t.equal(writeFailure('/o/r.json', e('EROFS')), '/o/r.json: the file system is read-only (EROFS)');
  t.equal(writeFailure('/o/r.json', e('EXDEV')), '/o/r.json: EXDEV (EXDEV)');
});

t.test('checkOutputPaths: --out and --junit refused before the VM starts', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-outputs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'a-file'), '');
  await t.rejects(checkOutputPaths(path.join(dir, 'a-file'), []), /--out .*a-file cannot be written/);
  await mkdir(path.join(dir, 'junit.xml'));
  await t.rejects(checkOutputPaths(path.join(dir, 'out'), [path.join(dir, 'junit.xml')]), /junit\.xml is a directory/);
  await t.rejects(checkOutputPaths(path.join(dir, 'out'), [path.join(dir, 'a-file', 'junit.xml')]), /--junit\/--kcidb .* cannot be written/);
  await checkOutputPaths(path.join(dir, 'out', 'deep'), [path.join(dir, 'ci', 'junit.xml'), null]);
  t.same((await readdir(path.join(dir, 'out', 'deep'))), [], 'the probe leaves nothing');
});

t.test('a build that failed for a full or read-only disk: a set-up error naming the disk, not a compiler hint', async (t) => {
  const { diskFailure, HarnessError, UntestableError } = await import('../../src/errors.js');
  const full = diskFailure('  CC [M]  /c/kmod/x/probe.o\n/c/kmod/x/probe.o: No space left on device\nmake[1]: *** Error 1', '/c/kmod/x');
  t.ok(full instanceof HarnessError && !(full instanceof UntestableError), 'exit 2, not 125 (the kernel is not untestable)');
  t.match(full?.message, /the disk under \/c\/kmod\/x is full \(ENOSPC\)/);
  t.match(diskFailure('cc1: error: /c/x.o: Read-only file system', '/c')?.message, /read-only file system \(EROFS\)/);
  t.equal(diskFailure('probe.c:12: error: expected ;', '/c'), null, 'a real compile error stays what it was');
});
