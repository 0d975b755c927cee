/**
 * Reads the version string a bzImage carries in its setup header
 * (Documentation/x86/boot.rst: "HdrS" at 0x202, kernel_version at 0x20e
 * points to a NUL-terminated string, offset by 0x200). Pure.
 */
export interface ImageVersion {
  /** The kernel release, `uname -r` inside the guest. */
  release: string;
  /** The whole version string, e.g. "6.1.0-57-amd64 (debian-kernel@...) #1 SMP ...". */
  banner: string;
}

export function readImageVersion(head: Buffer): ImageVersion {
  if (head.length < 0x210 || head.toString('ascii', 0x202, 0x206) !== 'HdrS') {
    throw new Error('not an x86 bzImage (no "HdrS" setup header at 0x202)');
  }
  const ptr = head.readUInt16LE(0x20e);
  if (ptr === 0) throw new Error('the bzImage carries no version string');
  const start = ptr + 0x200;
  const end = head.indexOf(0, start);
  if (end < 0) throw new Error('the bzImage version string runs past the bytes read');
  const banner = head.toString('ascii', start, end);
  const release = banner.split(' ')[0] ?? '';
  if (!release) throw new Error('the bzImage version string is empty');
  return { release, banner };
}

/**
 * An arm64 Image is the uncompressed kernel and has no version field in its
 * header: the banner linux_banner ("Linux version 6.1.192 (user@host) (gcc
 * ...) #1 SMP ...", init/version.c) is read out of its data. Pure.
 */
export function readArm64ImageVersion(image: Buffer): ImageVersion {
  const at = image.indexOf('Linux version ');
  if (at < 0) throw new Error('the arm64 Image carries no "Linux version" banner');
  // linux_banner ends in a newline, then its NUL.
  const stop = [image.indexOf(0x0a, at), image.indexOf(0, at)].filter((i) => i >= 0);
  const line = image.toString('ascii', at + 'Linux version '.length, stop.length ? Math.min(...stop) : at + 512).trim();
  const release = line.split(' ')[0] ?? '';
  if (!release) throw new Error('the arm64 Image banner names no release');
  return { release, banner: line };
}

export type PayloadFormat = 'gzip' | 'xz' | 'zstd' | 'lzma' | 'bzip2' | 'lz4' | 'lzo' | 'unknown';

const MAGICS: [PayloadFormat, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lzma', [0x5d, 0x00, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
];

/**
 * The compressed vmlinux inside a bzImage: setup_sects at 0x1f1 (0 means 4),
 * payload_offset at 0x248 and payload_length at 0x24c, counted from the end
 * of the setup sectors (Documentation/x86/boot.rst, protocol 2.08+).
 */
export function readPayload(image: Buffer): { format: PayloadFormat; data: Buffer } {
  readImageVersion(image);
  if (image.readUInt16LE(0x206) < 0x208) throw new Error('boot protocol older than 2.08: no payload fields');
  const setupBytes = ((image[0x1f1] || 4) + 1) * 512;
  const start = setupBytes + image.readUInt32LE(0x248);
  const end = start + image.readUInt32LE(0x24c);
  if (end > image.length) throw new Error('the payload runs past the end of the image');
  const data = image.subarray(start, end);
  const found = MAGICS.find(([, magic]) => magic.every((b, i) => data[i] === b));
  return { format: found ? found[0] : 'unknown', data };
}
