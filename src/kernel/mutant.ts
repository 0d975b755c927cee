/**
 * Mutant kernels: small patches to the 6.1 source (vm/mutants/*.patch), each
 * a plausible bug in the per-CPU reference count. A patch file starts with a
 * paragraph saying what the bug is, then a unified diff. Pure.
 */

export interface Mutant {
  name: string;
  /** The first paragraph of the patch file. */
  what: string;
  /** Source files the patch touches, relative to the tree. */
  files: string[];
  patch: string;
}

export function parseMutant(name: string, text: string): Mutant {
  const what = text.split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ').trim() ?? '';
  const files = [...text.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1] as string);
  if (files.length === 0) throw new Error(`mutant ${name}: no "+++ b/FILE" line: not a unified diff`);
  if (!what || what.startsWith('---')) throw new Error(`mutant ${name}: the patch must start with a paragraph saying what the bug is`);
  return { name, what, files: [...new Set(files)], patch: text };
}
