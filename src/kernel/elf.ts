/**
 * Just enough ELF to know whether an uncompressed vmlinux can be booted
 * directly by QEMU: it must carry the Xen PVH entry note
 * (XEN_ELFNOTE_PHYS32_ENTRY, type 18, name "Xen"), which CONFIG_PVH adds.
 * Pure.
 */
const PT_NOTE = 4;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

const align4 = (n: number): number => (n + 3) & ~3;

export function hasPvhEntry(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > elf.length || elf.readUInt32LE(ph) !== PT_NOTE) continue;
    const start = Number(elf.readBigUInt64LE(ph + 8));
    const end = Math.min(elf.length, start + Number(elf.readBigUInt64LE(ph + 32)));
    for (let off = start; off + 12 <= end; ) {
      const namesz = elf.readUInt32LE(off);
      const descsz = elf.readUInt32LE(off + 4);
      const type = elf.readUInt32LE(off + 8);
      const name = elf.toString('ascii', off + 12, off + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      off += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}
