/**
 * A named kernel variant (variants.ts), built (or reused) in the cache from
 * its release's Debian source. Each variant
 * builds from its own hard-linked copy of the source
 * (<cache>/kernels/src-<variant>-<source key>/), in its build/ subdirectory,
 * rebuilt incrementally when the source or a fragment changes (the stamp
 * holds their hash). The build/ subdirectory gives kbuild relative paths,
 * so a cold variant starts from a copy of a built sibling's objects, and a
 * patched tree (a mutant, --patch) from the variant's (build-tree.ts). The
 * variant's own copy is never patched.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot, hashOf } from '../cache/cache.js';
import { buildTree, type BuiltTree, type TreeBuild } from './build-tree.js';
import type { Patch } from './patch.js';
import { linkedSource, patchedTree } from './patched-tree.js';
import { kernelSource } from './source.js';
import { ARCHES } from './arch.js';
import { KINDS, SOURCES, VARIANT_NAMES, variantOf, type VariantName } from './variants.js';

export interface VariantBuildOptions {
  repoRoot: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
  /** Another tarball instead of the variant's release's (tests). */
  tarball?: string;
}

/** The variant's fragments: its kind's, with its architecture's base in place of base.config. */
export async function variantFragments(name: VariantName, repoRoot: string): Promise<string[]> {
  const { kind, arch } = variantOf(name);
  const files = KINDS[kind].fragments.map((f) => (f === 'base.config' ? ARCHES[arch].baseFragment : f));
  return Promise.all(files.map((f) => readFile(path.join(repoRoot, 'vm/kernel-config', f), 'utf8')));
}

/** The source tarball a variant is built from: its release's linux-source package. */
export function variantTarball(name: VariantName, opts: Pick<VariantBuildOptions, 'tarball'>): { tarball: string; package: string } {
  const src = SOURCES[variantOf(name).release];
  return { tarball: opts.tarball ?? src.tarball, package: src.package };
}

/** Where a variant is built and from what; its source is linked on first use. */
export async function variantTree(name: VariantName, opts: VariantBuildOptions): Promise<TreeBuild> {
  const { tarball, package: pkg } = variantTarball(name, opts);
  const source = await kernelSource(tarball, opts.progress, pkg);
  const fragments = await variantFragments(name, opts.repoRoot);
  const srcOf = (v: VariantName): string => path.join(cacheRoot(), 'kernels', `src-${v}-${source.key}`);
  const src = srcOf(name);
  if (existsSync(path.join(src, '.refprobe-mutant'))) {
    // An older harness patched the variant's own copy and died before reverting: never build that as the variant.
    opts.progress(`kernel ${name}: ${src} holds a mutant an older version of the harness left; linking the source again`);
    await rm(src, { recursive: true, force: true });
  }
  await linkedSource(source.dir, src, opts.progress);
  return {
    label: name,
    arch: variantOf(name).arch,
    source: src,
    buildDir: path.join(src, 'build'),
    // Only a sibling of the same source and architecture can seed: its objects are this source's, for this CPU.
    seeds: VARIANT_NAMES.filter((v) => v !== name && variantOf(v).release === variantOf(name).release && variantOf(v).arch === variantOf(name).arch).map((v) => path.join(srcOf(v), 'build')),
    fragments,
    inputsKey: hashOf(source.key, ...fragments),
    progress: opts.progress,
    signal: opts.signal,
  };
}

/**
 * The variant (its tree, from variantTree) with patches applied, in its own
 * tree (patched-tree.ts), started from the variant's objects: build the
 * variant itself first.
 */
export async function variantPatchedTree(variant: VariantName, base: TreeBuild, patches: readonly Patch[], label: string, opts: VariantBuildOptions): Promise<TreeBuild> {
  const { tarball, package: pkg } = variantTarball(variant, opts);
  const source = await kernelSource(tarball, opts.progress, pkg);
  return patchedTree({ base, sourceDir: source.dir, sourcePackage: pkg, patches, label, progress: opts.progress });
}

export async function buildVariant(name: VariantName, opts: VariantBuildOptions): Promise<BuiltTree> {
  return buildTree(await variantTree(name, opts));
}
