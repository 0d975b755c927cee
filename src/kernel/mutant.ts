/**
 * Mutant kernels: small patches to the 6.1 source, each a plausible bug in
 * the reference count of one kernel variant: vm/mutants/<variant>/NAME.patch
 * is applied to that variant's source and built with its config, as
 * `vm-test --patch` builds any patch. A patch file starts with a paragraph
 * saying what the bug is, then a unified diff. Pure.
 */
import { parsePatch, type Patch } from './patch.js';
import type { VariantName } from './variants.js';

export interface Mutant extends Patch {
  /** The variant whose source and config the patch is built with. */
  variant: VariantName;
  /** The first paragraph of the patch file. */
  what: string;
}

export function parseMutant(name: string, variant: VariantName, text: string): Mutant {
  const what = text.split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ').trim() ?? '';
  const p = parsePatch(`mutant ${variant}/${name}`, text);
  if (!what || what.startsWith('---')) throw new Error(`mutant ${variant}/${name}: the patch must start with a paragraph saying what the bug is`);
  return { ...p, name, variant, what };
}

/** A patched header rebuilds everything that includes it: such mutants run last. */
export function touchesHeader(m: Mutant): boolean {
  return m.files.some((f) => f.endsWith('.h'));
}
