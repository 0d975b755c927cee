/**
 * What QEMU boots. Under TCG, decompressing a distribution bzImage is half
 * the boot: the stock 6.1 kernel took 7.6-8.3 s to boot and power off from
 * its bzImage and 3.3-4.4 s from its uncompressed vmlinux through the PVH
 * entry (CONFIG_PVH=y). So the harness decompresses the payload once (cached
 * by the image's content) and boots the vmlinux when it has the PVH note,
 * falling back to the bzImage otherwise.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { cachedDir, hashOf } from '../cache/cache.js';
import { readPayload, type PayloadFormat } from './bzimage.js';
import { hasPvhEntry } from './elf.js';
import type { Arch } from './arch.js';

export type BootMode = 'auto' | 'pvh' | 'bzimage';

export interface BootImage {
  path: string;
  /** image: an arm64 Image, which is the uncompressed kernel already. */
  mode: 'pvh' | 'bzimage' | 'image';
  reason: string;
}

const TOOLS: Partial<Record<PayloadFormat, string[]>> = {
  xz: ['xz', '-dc', '--single-stream'],
  zstd: ['zstd', '-dc'],
  lzma: ['xz', '--format=lzma', '-dc'],
  bzip2: ['bzip2', '-dc'],
  lz4: ['lz4', '-dc'],
};

/**
 * Kbuild appends the uncompressed size (4 bytes, little-endian) after the
 * compressed stream (scripts/Makefile.lib size_append). gzip and xz
 * --single-stream stop at the stream's end; zstd reads the 4 bytes as a
 * broken second frame and fails (Debian's 6.12 vmlinuz is zstd), so they are
 * cut off here and checked against what came out.
 */
async function decompress(format: PayloadFormat, data: Buffer): Promise<Buffer> {
  if (format === 'gzip') return gunzipSync(data);
  const tool = TOOLS[format];
  if (!tool) throw new Error(`no decompressor for a ${format} payload`);
  const [cmd, ...args] = tool as [string, ...string[]];
  const input = format === 'zstd' ? data.subarray(0, data.length - 4) : data;
  const r = await execa(cmd, args, { input, encoding: 'buffer', stripFinalNewline: false, timeout: 120_000 });
  const out = Buffer.from(r.stdout);
  if (format === 'zstd' && out.length !== data.readUInt32LE(data.length - 4)) {
    throw new Error(`the zstd payload gave ${out.length} bytes where the image says ${data.readUInt32LE(data.length - 4)}`);
  }
  return out;
}

export async function bootImage(image: string, mode: BootMode, vmlinux?: string, arch: Arch = 'x86_64'): Promise<BootImage> {
  if (arch === 'arm64') return { path: image, mode: 'image', reason: 'the arm64 Image (uncompressed: QEMU loads it as it is)' };
  if (mode === 'bzimage') return { path: image, mode: 'bzimage', reason: 'requested (--boot bzimage)' };
  // A built tree's own vmlinux needs no decompression.
  if (vmlinux && hasPvhEntry(await readFile(vmlinux))) {
    return { path: vmlinux, mode: 'pvh', reason: "the tree's vmlinux through the PVH entry" };
  }
  try {
    const bz = await readFile(image);
    const { dir } = await cachedDir('vmlinux', hashOf(bz), async (tmp) => {
      const payload = readPayload(bz);
      const elf = await decompress(payload.format, payload.data);
      if (!hasPvhEntry(elf)) throw new Error('the kernel has no PVH entry (CONFIG_PVH is off)');
      await writeFile(path.join(tmp, 'vmlinux'), elf);
    });
    return { path: path.join(dir, 'vmlinux'), mode: 'pvh', reason: 'uncompressed vmlinux through the PVH entry' };
  } catch (e) {
    const why = (e as Error).message.split('\n')[0] ?? '';
    if (mode === 'pvh') throw new Error(`--boot pvh: cannot boot ${image} through PVH: ${why}`);
    return { path: image, mode: 'bzimage', reason: `bzImage (no PVH boot: ${why})` };
  }
}
