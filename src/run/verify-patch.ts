/**
 * `vm-test --patch FILE`: a patch verified on the kernel it applies to. The
 * base variant is built (or reused), the patches are applied to a copy of
 * its source and built from a copy of its objects (patched-tree.ts), then
 * the suite runs on both kernels on the same topologies, side by side. The
 * base is the control: where it fails, the suite cannot judge the patch.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildTree, type BuiltTree } from '../kernel/build-tree.js';
import { variantPatchedTree, variantTree, type VariantBuildOptions } from '../kernel/build-variant.js';
import { userPatchPair } from '../kernel/user-tree.js';
import { parsePatch, type Patch } from '../kernel/patch.js';
import type { VariantName } from '../kernel/variants.js';
import { HarnessError } from '../errors.js';
import { compareRuns, type Comparison } from '../report/compare.js';
import type { FinishedRun } from '../report/results.js';
import { EXIT } from '../exit-status.js';
import { finishedRun } from './ci-files.js';
import { runMatrix, type MatrixContext, type MatrixRequest } from './matrix.js';
import { worstExit } from '../exit-status.js';
import type { Cell, MatrixReport } from '../report/matrix-report.js';

/** The base kernel fails the suite: nothing can be said about the patch. */
export const EXIT_BASE_FAILS = 4;

/** What a patch applies to: a variant (of linux-source-6.1 or -6.12), or the user's tree (--kernel-tree). */
export type PatchBase = { variant: VariantName } | { tree: string };

/** The label the base's runs carry: the variant, or the tree's directory name. */
export const baseLabel = (b: PatchBase): string => ('variant' in b ? b.variant : path.basename(path.resolve(b.tree)));

/** What --patch verifies: the patches on a base, every topology, the base beside the patched kernel. */
export interface PatchRequest extends Omit<MatrixRequest, 'cells' | 'shard' | 'planned'> {
  patches: readonly string[];
  base: PatchBase;
  topologies: readonly { smp: number; possibleCpus: number }[];
}

export interface PatchVerdict {
  base: BuiltTree;
  patched: BuiltTree;
  /** The patched kernel was built in a copy of the user's tree, removed after the runs. */
  copyRemoved: boolean;
  matrix: MatrixReport;
  runs: FinishedRun[];
  comparison: Comparison;
  exit: number;
}

export async function readPatches(files: readonly string[]): Promise<Patch[]> {
  return Promise.all(
    files.map(async (f) => {
      const text = await readFile(f, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new HarnessError(`--patch ${f}: cannot read it (${e.code ?? e.message})`, 'pass the path of a patch file (git diff, git format-patch or diff -u output)');
      });
      try {
        return parsePatch(f, text);
      } catch (e) {
        throw new HarnessError(`--patch ${(e as Error).message}`, 'pass a unified diff with a/ and b/ prefixes');
      }
    }),
  );
}

/** The label a patched kernel's runs carry: the base, then +patch. */
export const patchedName = (base: string): string => `${base}+patch`;

/**
 * Exit status of a verification: an interrupt or a set-up error anywhere
 * first; then the base (it must pass for the patch to be judged); then
 * what the patched kernel did (0, 1, 3).
 */
export function patchExit(baseExits: readonly number[], patchedExits: readonly number[], interrupted: boolean): number {
  if (interrupted) return EXIT.interrupted;
  if ([...baseExits, ...patchedExits].includes(EXIT.usage)) return EXIT.usage;
  if (baseExits.some((x) => x !== EXIT.ok)) return EXIT_BASE_FAILS;
  return worstExit(patchedExits);
}

/** The base variant and the base with the patches, built (or reused): what vm-test and bench --patch run. */
export async function buildPatchPair(
  on: PatchBase,
  files: readonly string[],
  vopts: VariantBuildOptions,
): Promise<{ base: BuiltTree; patched: BuiltTree; remove?: () => Promise<void> }> {
  const patches = await readPatches(files);
  const baseName = baseLabel(on);
  if ('tree' in on) return userPatchPair(on.tree, patches, { ...vopts, label: baseName }, patchedName(baseName));
  const baseTree = await variantTree(on.variant, vopts);
  const base = await buildTree(baseTree);
  vopts.progress(`kernel ${baseName}: ${base.reused ? 'reused' : `built in ${base.seconds} s`} (${base.dir})`);
  const label = patchedName(baseName);
  const patched = await buildTree(await variantPatchedTree(on.variant, baseTree, patches, label, vopts));
  vopts.progress(`kernel ${label}: ${patched.reused ? 'reused' : `built in ${patched.seconds} s`} (${patched.dir})`);
  return { base, patched };
}

export async function verifyPatch(o: PatchRequest, ctx: MatrixContext): Promise<PatchVerdict> {
  const { base, patched, remove } = await buildPatchPair(o.base, o.patches, { repoRoot: ctx.repoRoot, progress: ctx.progress, signal: ctx.signal });
  const name = baseLabel(o.base);
  const label = patchedName(name);
  const cells: Cell[] = o.topologies.flatMap((t) => [
    { kernel: name, spec: { builtTree: base.dir }, ...t },
    { kernel: label, spec: { builtTree: patched.dir }, ...t },
  ]);
  // A copy of the user's tree (gigabytes) lives only as long as its runs.
  const { report } = await runMatrix({ ...o, cells }, ctx).finally(() => remove?.());
  const runs = (await Promise.all(report.cells.map((c) => finishedRun(c.label, c.report).catch(() => null)))).filter((r) => r !== null);
  const side = (k: string): FinishedRun[] => runs.filter((r) => report.cells.find((c) => c.label === r.label)?.cell.kernel === k);
  const comparison = compareRuns(side(name), side(label));
  const exits = (k: string): number[] => report.cells.filter((c) => c.cell.kernel === k).map((c) => c.exit);
  // A cell that never ran (an interrupt) counts as not passing.
  const missing = report.cells.length < cells.length ? [EXIT.interrupted] : [];
  const exit = patchExit([...exits(name), ...missing], exits(label), ctx.signal?.aborted ?? false);
  return { base, patched, copyRemoved: remove !== undefined, matrix: report, runs, comparison, exit };
}

/** The verdict's last words, after the side-by-side table. */
export function patchSummary(v: PatchVerdict, base: string): string {
  const label = patchedName(base);
  const lines = [''];
  const n = v.comparison.counts;
  if (v.exit === EXIT_BASE_FAILS) {
    lines.push(`vm-test: BASE FAILS: the unpatched ${base} kernel does not pass the suite, so it cannot judge the patch (exit ${EXIT_BASE_FAILS}); see the base's runs`);
  } else if (v.exit === EXIT.ok) {
    const diff = n.regressed + n.fixed + n.changed + n.new + n.gone === 0 ? 'no difference' : `${n.fixed} fixed, ${n.changed} changed, ${n.new} new`;
    lines.push(`vm-test: PATCH PASSES: ${label} matched the model wherever ${base} did (${diff}, ${n.unchanged} unchanged)`);
  } else if (v.exit === EXIT.mismatch || v.exit === EXIT.crash) {
    const first = v.comparison.rows.find((r) => r.change === 'regressed');
    lines.push(`vm-test: PATCH FAILS: ${n.regressed} scenario(s) fail on ${label} that pass on ${base}${first ? `; first: ${first.scenario} (${first.run}): ${first.detail}` : ''}`);
  } else {
    lines.push(`vm-test: NO VERDICT: the runs did not complete (exit ${v.exit}); see the runs`);
  }
  const where = v.copyRemoved ? `built in ${v.patched.seconds} s in a copy of the tree, removed after the runs` : `built in ${v.patched.reused ? '0 s, reused' : `${v.patched.seconds} s`}`;
  lines.push(`vm-test: kernels: ${base} ${v.base.dir}, ${label} ${v.patched.dir} (${where})`);
  lines.push(`vm-test: runs kept in ${v.matrix.dir}/<run>/ (console.log, report.json, tap.txt)`);
  lines.push(`vm-test: report:      ${path.join(v.matrix.dir, 'report.json')}`);
  return `${lines.join('\n')}\n`;
}
