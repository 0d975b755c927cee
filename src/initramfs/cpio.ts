/**
 * A writer for the "newc" cpio format that the kernel unpacks as an
 * initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 * Pure and deterministic: same entries, same bytes (mtime and inode numbers
 * are fixed), so the initramfs cache key can be the content hash.
 */

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function record(ino: number, mode: number, data: Buffer, path: string, rdev: [number, number] = [0, 0]): Buffer {
  if (path.startsWith('/')) throw new Error(`cpio path must be relative: ${path}`);
  const name = Buffer.from(`${path}\0`, 'utf8');
  const header =
    '070701' +
    [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length, 0].map(hex8).join('');
  const head = Buffer.concat([Buffer.from(header, 'ascii'), name]);
  return Buffer.concat([head, Buffer.alloc(pad4(head.length)), data, Buffer.alloc(pad4(data.length))]);
}

export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    switch (e.type) {
      case 'dir':
        parts.push(record(ino++, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), e.path));
        break;
      case 'file':
        parts.push(record(ino++, S_IFREG | (e.mode ?? 0o644), e.data, e.path));
        break;
      case 'symlink':
        parts.push(record(ino++, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'), e.path));
        break;
      case 'chardev':
        parts.push(record(ino++, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), e.path, [e.major, e.minor]));
        break;
    }
  }
  parts.push(record(0, 0, Buffer.alloc(0), 'TRAILER!!!'));
  return Buffer.concat(parts);
}

/** Reads a newc archive back: used by the tests and to list an initramfs. */
export function readCpio(buf: Buffer): { path: string; mode: number; data: Buffer }[] {
  const out: { path: string; mode: number; data: Buffer }[] = [];
  let off = 0;
  for (;;) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701') throw new Error(`bad cpio magic "${magic}" at offset ${off}`);
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const path = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (path === 'TRAILER!!!') return out;
    out.push({ path, mode, data: buf.subarray(dataStart, dataStart + size) });
    off = dataStart + size + pad4(size);
  }
}
