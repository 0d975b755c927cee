/**
 * The cache verifies what it hands out: every kind of damage a disk or a
 * person can do to an entry (bytes changed at the same size, a file cut,
 * emptied, deleted, a link repointed) is named, the entry is removed and
 * built again, and an intact entry is used as it is.
 */
import t from 'tap';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile, symlink, readdir, open } from 'node:fs/promises';
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cachedDir, forgetChecks } from '../../src/cache/cache.js';
import { MANIFEST, fileDamage } from '../../src/cache/cache-manifest.js';

async function withCache(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-cache-test-'));
  const before = process.env.REFPROBE_CACHE_DIR;
  process.env.REFPROBE_CACHE_DIR = dir;
  t.teardown(async () => {
    if (before === undefined) delete process.env.REFPROBE_CACHE_DIR;
    else process.env.REFPROBE_CACHE_DIR = before;
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

const KO = Buffer.from(Array.from({ length: 8192 }, (_, i) => i % 251));

/** An entry of the module's shape: a binary, a log and a link. */
async function fill(dir: string): Promise<void> {
  await writeFile(path.join(dir, 'refprobe.ko'), KO);
  await writeFile(path.join(dir, 'build.log'), 'CC refprobe.o\n');
  await symlink('refprobe.ko', path.join(dir, 'current.ko'));
}

type Damage = [string, (file: string) => Promise<void>, string, RegExp];
const damages: Damage[] = [
  [
    'two bytes changed, same size',
    async (f) => {
      const fd = await open(f, 'r+');
      await fd.write(Buffer.from([0xde, 0xad]), 0, 2, 4000);
      await fd.close();
    },
    'refprobe.ko',
    /refprobe\.ko has the size it was written with but other content/,
  ],
  ['cut to 4 KiB', (f) => truncate(f, 4096), 'refprobe.ko', /refprobe\.ko is 4096 bytes, written as 8192/],
  ['emptied', (f) => truncate(f, 0), 'refprobe.ko', /refprobe\.ko is 0 bytes, written as 8192/],
  ['deleted', (f) => unlink(f), 'refprobe.ko', /refprobe\.ko is missing/],
  [
    'a link repointed',
    async (f) => {
      await unlink(f);
      await symlink('build.log', f);
    },
    'current.ko',
    /current\.ko no longer links to refprobe\.ko/,
  ],
];

for (const [what, damage, file, said] of damages) {
  t.test(`a cache entry with a file ${what} is named, removed and built again`, async (t) => {
    await withCache(t);
    let fills = 0;
    const make = (d: string): Promise<void> => {
      fills++;
      return fill(d);
    };
    const first = await cachedDir('kmod', 'k1', make);
    t.equal(first.hit, false);
    await damage(path.join(first.dir, file));
    const notes: string[] = [];
    const again = await cachedDir('kmod', 'k1', make, (l) => notes.push(l));
    t.equal(again.hit, true, 'the same process trusts what it wrote and checked');
    t.equal(notes.length, 0);
    forgetChecks(); // what a new run starts with
    const third = await cachedDir('kmod', 'k1', make, (l) => notes.push(l));
    t.equal(third.hit, false, 'a run that has not checked it yet finds the damage and builds again');
    t.equal(fills, 2);
    t.equal(notes.length, 1, 'one line says so');
    t.match(notes[0], said);
    t.match(notes[0], /cache: \S+kmod\/k1 is damaged \(.*\); removing it and building it again/);
    t.same(await readFile(path.join(third.dir, 'refprobe.ko')), KO, 'the rebuilt entry is whole');
    t.same((await readdir(path.dirname(third.dir))).sort(), ['k1'], 'nothing left aside or half-written');
  });
}

t.test('an intact entry is used as it is, and one from before manifests is recorded once', async (t) => {
  const root = await withCache(t);
  let fills = 0;
  const make = (d: string): Promise<void> => {
    fills++;
    return fill(d);
  };
  await cachedDir('kmod', 'k2', make);
  forgetChecks();
  const notes: string[] = [];
  t.equal((await cachedDir('kmod', 'k2', make, (l) => notes.push(l))).hit, true);
  t.equal(fills, 1);
  t.same(notes, []);
  await unlink(path.join(root, 'kmod/k2', MANIFEST));
  forgetChecks();
  t.equal((await cachedDir('kmod', 'k2', make)).hit, true, 'no manifest: written before manifests, trusted');
  t.ok(JSON.parse(await readFile(path.join(root, 'kmod/k2', MANIFEST), 'utf8')).files['refprobe.ko'], 'and recorded from now on');
});

t.test('a failed fill leaves nothing behind', async (t) => {
  const root = await withCache(t);
  await t.rejects(cachedDir('kmod', 'k3', async () => {
    throw new Error('gcc failed');
  }), /gcc failed/);
  t.same(await readdir(path.join(root, 'kmod')), []);
});

t.test('fileDamage: the words for each difference', async (t) => {
  const rec = { size: 10, sha256: 'a'.repeat(64) };
  t.equal(fileDamage('f', rec, { size: 10, sha256: 'a'.repeat(64) }), null);
  t.equal(fileDamage('f', rec, null), 'f is missing');
  t.equal(fileDamage('f', rec, { link: 'x' }), 'f became a link');
  t.equal(fileDamage('f', { link: 'x' }, { link: 'x' }), null);
  t.match(fileDamage('f', rec, { size: 10, sha256: 'b'.repeat(64) }), /other content/);
});

t.test('make prune: a dead writer\'s leftovers go, a live one\'s stay', async (t) => {
  const root = await withCache(t);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'prune-test-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  t.teardown(async () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    await rm(tmp, { recursive: true, force: true });
  });
  const dead = 2 ** 22 + 12345; // above pid_max's default: no such process
  const live = process.pid;
  const { mkdir } = await import('node:fs/promises');
  const made = [
    path.join(root, 'kmod', `.abc-${dead}-Xy12Zq`),
    path.join(root, 'kmod', `.abc-${live}-Xy12Zq`),
    path.join(root, 'initramfs', `def.damaged-${dead}-a1b2c3`),
    path.join(root, 'kmod', 'abc'),
    path.join(tmp, `refprobe-${dead}-a1B2c3`),
    path.join(tmp, `rp-ssh-${dead}-a1B2c3`),
    path.join(tmp, `refprobe-floor-${live}-a1B2c3`),
    path.join(tmp, 'refprobe-a1B2c3'),
  ];
  for (const d of made) await mkdir(d, { recursive: true });
  const { pruneLeftovers, ownerOf, scratchDir } = await import('../../src/cache/scratch.js');
  t.equal(ownerOf(`refprobe-kvm-${dead}-a1B2c3`, 'tmp'), dead);
  t.equal(ownerOf('refprobe-a1B2c3', 'tmp'), null, 'a name from before pids: not ours to judge');
  t.equal(ownerOf('abc', 'cache'), null, 'a published entry is never a leftover');
  t.match(path.basename(await scratchDir('refprobe')), new RegExp(`^refprobe-${live}-`));
  const said: string[] = [];
  t.equal(await pruneLeftovers((l) => said.push(l)), 4);
  const left = made.filter((d) => existsSync(d)).map((d) => path.basename(d));
  t.same(left, [`.abc-${live}-Xy12Zq`, 'abc', `refprobe-floor-${live}-a1B2c3`, 'refprobe-a1B2c3']);
  t.match(said.join('\n'), new RegExp(`left by process ${dead}, which is gone`));
});

t.test('a manifest cut, emptied or not one is damage, never "written before manifests"', async (t) => {
  const root = await withCache(t);
  for (const bad of ['', '{"version":1,"files":nul', '{"version":1,"files":null}', '[]']) {
    let fills = 0;
    const make = (d: string): Promise<void> => {
      fills++;
      return fill(d);
    };
    await cachedDir('kmod', 'k4', make);
    await writeFile(path.join(root, 'kmod/k4', MANIFEST), bad);
    forgetChecks();
    const notes: string[] = [];
    t.equal((await cachedDir('kmod', 'k4', make, (l) => notes.push(l))).hit, false, `manifest ${JSON.stringify(bad)}: built again`);
    t.equal(fills, 2);
    t.match(notes[0], /is damaged \(its \.refprobe-manifest\.json cannot be read\)/);
    await rm(path.join(root, 'kmod/k4'), { recursive: true });
  }
});

t.test('matrix cells asking at once for a damaged entry: one check, one line, one rebuild', async (t) => {
  await withCache(t);
  let fills = 0;
  const make = async (d: string): Promise<void> => {
    fills++;
    await fill(d);
  };
  const first = await cachedDir('kmod', 'k5', make);
  await truncate(path.join(first.dir, 'refprobe.ko'), 10);
  forgetChecks();
  const notes: string[] = [];
  const got = await Promise.all([1, 2, 3].map(() => cachedDir('kmod', 'k5', make, (l) => notes.push(l))));
  t.equal(notes.length, 1, 'said once');
  t.ok(fills >= 2 && fills <= 4, 'built again');
  for (const g of got) t.same(await readFile(path.join(g.dir, 'refprobe.ko')), KO, 'every cell gets the whole module');
});

t.test('a built tree\'s stamp: its outputs checked, a cut or unreadable stamp is damage', async (t) => {
  const { outputsDamage } = await import('../../src/kernel/build-tree.js');
  const { record } = await import('../../src/cache/cache-manifest.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-stamp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const files = { image: path.join(dir, 'arch/x86/boot/bzImage'), vmlinux: path.join(dir, 'vmlinux') };
  const { mkdir } = await import('node:fs/promises');
  await mkdir(path.dirname(files.image), { recursive: true });
  await writeFile(files.image, KO);
  await writeFile(files.vmlinux, KO.subarray(0, 5000));
  const stamp = `key\n${JSON.stringify({ image: await record(files.image), vmlinux: await record(files.vmlinux) })}\n`;
  t.equal(await outputsDamage(stamp, files), null, 'as built');
  t.equal(await outputsDamage('key', files), null, 'a stamp from before records: trusted (and recorded)');
  t.match(await outputsDamage('key\n', files), /cannot be read/);
  t.match(await outputsDamage('key\n{"image":{"size":1', files), /cannot be read/);
  t.match(await outputsDamage('key\n{"image":null,"vmlinux":null}', files), /no record of image/);
  await truncate(files.vmlinux, 100);
  t.match(await outputsDamage(stamp, files), /^vmlinux is 100 bytes, written as 5000$/);
  await unlink(files.image);
  t.match(await outputsDamage(stamp, files), /^arch\/x86\/boot\/bzImage is missing$/);
});

t.test('a kernel source entry: sizes only (80,000 files), so a cut file shows and the run does not hash 1.3 GB', async (t) => {
  await withCache(t);
  let fills = 0;
  const make = (d: string): Promise<void> => {
    fills++;
    return fill(d);
  };
  const first = await cachedDir('src', 's1', make, undefined, { sizesOnly: true });
  const manifest = JSON.parse(await readFile(path.join(first.dir, MANIFEST), 'utf8')) as { sizesOnly?: boolean; files: Record<string, { sha256?: string }> };
  t.equal(manifest.sizesOnly, true);
  t.equal(manifest.files['refprobe.ko']?.sha256, '', 'no hash recorded');
  const fd = await open(path.join(first.dir, 'refprobe.ko'), 'r+');
  await fd.write(Buffer.from([0xde, 0xad]), 0, 2, 100);
  await fd.close();
  forgetChecks();
  t.equal((await cachedDir('src', 's1', make, () => t.fail('no line'), { sizesOnly: true })).hit, true, 'the same size: not read, so not seen (the trade, said in cache-manifest.ts)');
  await truncate(path.join(first.dir, 'refprobe.ko'), 10);
  forgetChecks();
  const notes: string[] = [];
  t.equal((await cachedDir('src', 's1', make, (l) => notes.push(l), { sizesOnly: true })).hit, false);
  t.match(notes[0], /refprobe\.ko is 10 bytes, written as 8192/);
  t.equal(fills, 2);
});
