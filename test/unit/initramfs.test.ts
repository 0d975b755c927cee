import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { readCpio, writeCpio } from '../../src/initramfs/cpio.js';
import { hasInterpreter, initramfsEntries } from '../../src/initramfs/build.js';

t.test('newc cpio: header fields, 4-byte alignment, trailer', async (t) => {
  const buf = writeCpio([
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  ]);
  t.equal(buf.toString('ascii', 0, 6), '070701');
  t.equal(buf.length % 4, 0, 'the archive is padded to 4 bytes');
  const back = readCpio(buf);
  t.same(back.map((e) => e.path), ['bin', 'init', 'dev/console']);
  t.equal(back[0]?.mode, 0o040755);
  t.equal(back[1]?.mode, 0o100755);
  t.equal(back[1]?.data.toString(), '#!/bin/sh\n');
  t.equal(back[2]?.mode, 0o020600);
  t.match(buf.toString('ascii'), /TRAILER!!!/);
});

t.test('newc cpio: deterministic bytes, so the cache key is the content', async (t) => {
  const e = initramfsEntries(Buffer.from('bb'), Buffer.from('init'), Buffer.from('agent'), Buffer.from('ko'));
  t.ok(writeCpio(e).equals(writeCpio(e)));
});

t.test('newc cpio: odd sizes keep alignment for every entry', async (t) => {
  const entries = [1, 2, 3, 4, 5].map((n) => ({ type: 'file' as const, path: 'f'.repeat(n), data: Buffer.alloc(n, 0x61) }));
  const back = readCpio(writeCpio(entries));
  t.same(back.map((e) => e.data.length), [1, 2, 3, 4, 5]);
});

t.test('the guest layout: init, busybox and the module where vm/guest/init expects them', async (t) => {
  const paths = initramfsEntries(Buffer.from('bb'), Buffer.from('init'), Buffer.from('agent'), Buffer.from('ko')).map((e) => e.path);
  t.ok(paths.includes('init'));
  t.ok(paths.includes('bin/busybox'));
  t.ok(paths.includes('lib/refprobe.ko'));
  t.ok(paths.includes('bin/refprobe-agent'), 'vm/guest/init runs the agent from /bin/refprobe-agent');
  t.ok(paths.includes('dev/console'));
  t.throws(() => writeCpio([{ type: 'dir', path: '/abs' }]), /relative/);
});

t.test('a dynamically linked busybox is recognised (PT_INTERP)', async (t) => {
  const elf = Buffer.alloc(256);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2;
  elf.writeBigUInt64LE(64n, 0x20);
  elf.writeUInt16LE(56, 0x36);
  elf.writeUInt16LE(2, 0x38);
  elf.writeUInt32LE(1, 64);
  t.equal(hasInterpreter(elf), false, 'PT_LOAD only: static');
  elf.writeUInt32LE(3, 64 + 56);
  t.equal(hasInterpreter(elf), true, 'PT_INTERP: dynamic');
  t.equal(hasInterpreter(Buffer.from('not elf')), false);
});

t.test('gzip round trip of a packed image', async (t) => {
  const { gzipSync } = await import('node:zlib');
  const cpio = writeCpio([{ type: 'file', path: 'x', data: Buffer.from('y') }]);
  t.ok(gunzipSync(gzipSync(cpio)).equals(cpio));
});
