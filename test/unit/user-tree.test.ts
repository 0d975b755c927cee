/** --kernel-tree: what kind of tree a directory is, and what a user's config must have. */
import t from 'tap';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configProblem, OWN_BUILD_DIR, SUITE_NEEDS, treeLayout } from '../../src/kernel/user-tree.js';

async function fakeSource(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'scripts/kconfig'), { recursive: true });
  await writeFile(path.join(dir, 'Kconfig'), '');
  await writeFile(path.join(dir, 'Makefile'), 'VERSION = 6\n');
}

t.test('a source tree is built in place when configured, in .refprobe-build when clean; an O= directory in place', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'user-tree-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const src = path.join(root, 'linux');
  await fakeSource(src);
  t.same(await treeLayout(src), { kind: 'clean', source: src, buildDir: path.join(src, OWN_BUILD_DIR) });
  await writeFile(path.join(src, '.config'), '');
  t.same(await treeLayout(src), { kind: 'configured', source: src, buildDir: src });
  const out = path.join(root, 'out');
  await mkdir(out);
  await writeFile(path.join(out, '.config'), '');
  await writeFile(path.join(out, 'Makefile'), `include ${src}/Makefile\n`);
  await symlink(src, path.join(out, 'source'));
  t.same(await treeLayout(out), { kind: 'output', source: src, buildDir: out });
  await rm(path.join(src, '.config'));
  await mkdir(path.join(src, 'include/config'), { recursive: true });
  await t.rejects(treeLayout(src), /has no \.config but an in-tree build left include\/config behind: kbuild cannot build it out of tree.*make -C \S+ mrproper/s, 'kbuild would refuse the out-of-tree build: say so before it does');
  await t.rejects(treeLayout(path.join(root, 'nowhere')), /--kernel-tree \S+nowhere: no such directory/);
  await t.rejects(treeLayout(root), /neither a Linux source tree .* nor a kbuild output directory/);
});

t.test('a user\'s config is checked for what the suite needs, and the error says how to add it', async (t) => {
  const full = [...SUITE_NEEDS].map(([k, v]) => `${k}=${v}`).join('\n');
  t.equal(configProblem(full, '/src/linux/.config'), null);
  const lacking = full.replace('CONFIG_DEBUG_FS=y', '# CONFIG_DEBUG_FS is not set').replace('CONFIG_MODULE_UNLOAD=y\n', '');
  const e = configProblem(lacking, '/src/linux/.config');
  t.match(e?.message, /\/src\/linux\/\.config lacks 2 option\(s\) the suite needs/);
  t.match(e?.message, /scripts\/config --file \/src\/linux\/\.config -e MODULE_UNLOAD -e DEBUG_FS && make -C \/src\/linux olddefconfig/);
  t.match(e?.message, /CONFIG_DEBUG_FS: wanted y, got n/);
  t.match(e?.message, /or run make -C \/src\/linux mrproper \(it removes the \.config and every object\) and the harness builds the tree with its own configuration in \.refprobe-build/);
});

t.test('relocateTools: whole paths of the seed in tools/ command files, the build directory before the source root, times kept', async (t) => {
  const { relocateTools } = await import('../../src/kernel/build-tree.js');
  const { readFile, stat, utimes } = await import('node:fs/promises');
  const root = await mkdtemp(path.join(os.tmpdir(), 'relocate-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const f = path.join(root, 'objtool/.check.o.cmd');
  await mkdir(path.dirname(f), { recursive: true });
  await writeFile(
    f,
    [
      'cmd_/s/linux/build/tools/objtool/check.o := gcc -Wp,-MD,/s/linux/build/tools/objtool/.check.o.d -I/s/linux/tools/include -c check.c',
      'deps_/s/linux/build/tools/objtool/check.o := \\',
      '  /usr/include/linux/errno.h \\',
      '  /s/linux/tools/include/linux/kernel.h \\',
      '/s/linux/build/tools/objtool/check.o: $(deps_/s/linux/build/tools/objtool/check.o)',
      "srctree='/s/linux' /s/linuxx/other",
    ].join('\n'),
  );
  const then = new Date('2025-01-02T03:04:05Z');
  await utimes(f, then, then);
  await relocateTools(root, [['/s/linux/build', '/u/tree/.refprobe-build'], ['/s/linux', '/u/tree']]);
  const text = await readFile(f, 'utf8');
  t.match(text, /^cmd_\/u\/tree\/\.refprobe-build\/tools\/objtool\/check\.o := gcc -Wp,-MD,\/u\/tree\/\.refprobe-build\/tools\/objtool\/\.check\.o\.d -I\/u\/tree\/tools\/include/m, 'the build directory (renamed) first, then the source root');
  t.match(text, /\/usr\/include\/linux\/errno\.h/, 'a path that merely ends in the same name is left alone');
  t.match(text, /\$\(deps_\/u\/tree\/\.refprobe-build\/tools\/objtool\/check\.o\)/, 'inside make variable names too (deps_/path)');
  t.match(text, /srctree='\/u\/tree' \/s\/linuxx\/other/, 'whole components only');
  t.equal((await stat(f)).mtimeMs, then.getTime(), 'the file keeps its time: make must not think it changed');
});
