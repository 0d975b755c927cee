/**
 * The module's vermagic, read from the .modinfo strings of a built .ko, and
 * the check the kernel's module loader makes with it. Pure.
 */
export function readVermagic(ko: Buffer): string {
  const key = Buffer.from('vermagic=', 'ascii');
  const at = ko.indexOf(key);
  if (at < 0) throw new Error('no vermagic= in the module: is it a kernel module?');
  const end = ko.indexOf(0, at);
  return ko.toString('ascii', at + key.length, end < 0 ? undefined : end);
}

/** The release a vermagic names: its first word ("6.1.0-57-amd64 SMP preempt mod_unload ..."). */
export function vermagicRelease(vermagic: string): string {
  return vermagic.trim().split(/\s+/)[0] ?? '';
}
