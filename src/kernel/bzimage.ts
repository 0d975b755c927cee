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
