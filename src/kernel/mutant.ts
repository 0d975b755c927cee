/**
 * Mutant kernels: small patches to the 6.1 source, each a plausible bug in
 * the reference count of one kernel variant: vm/mutants/<variant>/NAME.patch
 * is applied to that variant's source and built with its config. A patch
 * file starts with a paragraph saying what the bug is, then a unified diff.
 * Pure.
 */
import type { VariantName } from './variants.js';

export interface Mutant {
  name: string;
  /** The variant whose source and config the patch is built with. */
  variant: VariantName;
  /** The first paragraph of the patch file. */
  what: string;
  /** Source files the patch touches, relative to the tree. */
  files: string[];
  patch: string;
}

export function parseMutant(name: string, variant: VariantName, text: string): Mutant {
  const what = text.split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ').trim() ?? '';
  const files = [...text.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1] as string);
  if (files.length === 0) throw new Error(`mutant ${variant}/${name}: no "+++ b/FILE" line: not a unified diff`);
  if (!what || what.startsWith('---')) throw new Error(`mutant ${variant}/${name}: the patch must start with a paragraph saying what the bug is`);
  return { name, variant, what, files: [...new Set(files)], patch: text };
}

/** A patched header rebuilds everything that includes it (applied, then reverted): such mutants run last. */
export function touchesHeader(m: Mutant): boolean {
  return m.files.some((f) => f.endsWith('.h'));
}
