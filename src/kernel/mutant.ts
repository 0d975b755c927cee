/**
 * Mutant kernels: small patches to a variant's source (6.1 or 6.12), each a
 * plausible bug in the reference count of one kernel variant:
 * vm/mutants/<variant>/NAME.patch is applied to that variant's source and
 * built with its config, as `vm-test --patch` builds any patch. A patch file
 * starts with a paragraph saying what the bug is, then a unified diff. The
 * same bug in another release has the same NAME under that release's
 * variant (pcpu-6.12); where it does not apply there, its file is only a
 * paragraph saying why ("... does not apply ..."). Pure.
 */
import { parsePatch, type Patch } from './patch.js';
import type { VariantName } from './variants.js';

export interface Mutant extends Patch {
  /** The variant whose source and config the patch is built with. */
  variant: VariantName;
  /** The first paragraph of the patch file. */
  what: string;
  /**
   * A mutant of one release that has no counterpart in this one, or none this
   * machine can tell from the correct kernel: its file is a paragraph saying
   * why, and no diff. It is reported as such, never run, never a kill.
   */
  notApplicable?: true;
  /**
   * The machine the bug shows on, where it is not the default one: a
   * "Present-as: qemu|vmware" line before the diff (backend/qemu/qemu-args.ts). The
   * 6.12 possible-CPU rule has a branch for each: a hypervisor recognised or
   * not, and each has its mutant.
   */
  presentAs?: 'qemu' | 'vmware';
  /**
   * A bug this variant's architecture cannot show: a "Survives: WHY" line
   * before the diff says why no check can tell it from the correct kernel
   * (raw_cpu_inc() is this_cpu_inc()'s own instruction on x86-64). It is run
   * like any mutant and must survive there; a kill is a failure (the suite
   * saw a difference the code cannot make). Its twin for the architecture
   * that shows the bug must die.
   */
  survives?: string;
}

/** How a mutant is named across releases: vm/mutants/<variant>/<name>.patch -> variant/name. */
export const mutantKey = (m: { variant?: string; kernel?: string; name: string }): string => `${m.variant ?? m.kernel}/${m.name}`;

export function parseMutant(name: string, variant: VariantName, text: string): Mutant {
  const what = text.split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ').trim() ?? '';
  if (!what || what.startsWith('---')) throw new Error(`mutant ${variant}/${name}: the patch must start with a paragraph saying what the bug is`);
  if (!/^(---|\+\+\+) /m.test(text) && /\bdoes not apply\b/.test(what)) return { name, files: [], text, variant, what, notApplicable: true };
  const p = parsePatch(`mutant ${variant}/${name}`, text);
  const header = text.slice(0, text.search(/^--- /m));
  const present = /^Present-as: (\S+)\s*$/m.exec(header)?.[1];
  if (present !== undefined && present !== 'qemu' && present !== 'vmware') throw new Error(`mutant ${variant}/${name}: "Present-as: ${present}" is not qemu or vmware`);
  const survives = /^Survives: (.+)$/m.exec(header)?.[1]?.trim();
  return { ...p, name, variant, what, ...(present ? { presentAs: present } : {}), ...(survives ? { survives } : {}) };
}

/** A patched header rebuilds everything that includes it: such mutants run last. */
export function touchesHeader(m: Mutant): boolean {
  return m.files.some((f) => f.endsWith('.h'));
}
