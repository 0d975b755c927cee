import t from 'tap';
import { readPayload } from '../../src/kernel/bzimage.js';
import { hasPvhEntry } from '../../src/kernel/elf.js';
import { fixtureBytes } from '../fixtures.js';

t.test('bzImage payload: located by the setup header, format by magic', async (t) => {
  const head = fixtureBytes('bzimage-6.1.0-57-amd64.head');
  t.throws(() => readPayload(head), /runs past the end/, 'the saved head holds the start of the payload only');
  const img = Buffer.from(head);
  img.writeUInt32LE(64, 0x24c);
  const p = readPayload(img);
  t.equal(p.format, 'xz', 'Debian 6.1 is CONFIG_KERNEL_XZ');
  t.equal(p.data.length, 64);
});

function elfWithNote(name: string, type: number): Buffer {
  const elf = Buffer.alloc(256);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2;
  elf[5] = 1;
  elf.writeBigUInt64LE(64n, 0x20);
  elf.writeUInt16LE(56, 0x36);
  elf.writeUInt16LE(1, 0x38);
  elf.writeUInt32LE(4, 64);
  elf.writeBigUInt64LE(128n, 64 + 8);
  elf.writeBigUInt64LE(24n, 64 + 32);
  elf.writeUInt32LE(name.length + 1, 128);
  elf.writeUInt32LE(4, 132);
  elf.writeUInt32LE(type, 136);
  elf.write(name, 140, 'ascii');
  return elf;
}

t.test('PVH entry note: Xen type 18', async (t) => {
  t.equal(hasPvhEntry(elfWithNote('Xen', 18)), true);
  t.equal(hasPvhEntry(elfWithNote('Xen', 6)), false, 'other Xen notes are not the entry');
  t.equal(hasPvhEntry(elfWithNote('GNU', 18)), false);
  t.equal(hasPvhEntry(Buffer.from('MZ not elf')), false);
});

t.test("a zstd payload with kbuild's size after it (Debian 6.12's vmlinuz): decompressed and booted through PVH", async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const elf = elfWithNote('Xen', 18);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(elf.length);
  const payload = Buffer.concat([execFileSync('zstd', ['-q', '-c'], { input: elf }), size]);
  const head = fixtureBytes('bzimage-6.1.0-57-amd64.head');
  const start = ((head[0x1f1] || 4) + 1) * 512 + head.readUInt32LE(0x248);
  const img = Buffer.concat([head.subarray(0, start), payload]);
  img.writeUInt32LE(payload.length, 0x24c);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-zstd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const saved = process.env.REFPROBE_CACHE_DIR;
  process.env.REFPROBE_CACHE_DIR = dir;
  t.teardown(() => {
    if (saved === undefined) delete process.env.REFPROBE_CACHE_DIR;
    else process.env.REFPROBE_CACHE_DIR = saved;
  });
  t.equal(readPayload(img).format, 'zstd');
  await writeFile(path.join(dir, 'bzImage'), img);
  const { bootImage } = await import('../../src/kernel/vmlinux.js');
  const b = await bootImage(path.join(dir, 'bzImage'), 'auto');
  t.equal(b.mode, 'pvh', `${b.reason}`);
});
