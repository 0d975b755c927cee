/**
 * A named kernel variant, built (or reused) in the cache:
 * <cache>/kernels/<variant>-<source version>/, rebuilt incrementally when
 * the source or a fragment changes (the stamp holds their hash). Each
 * variant builds from its own hard-linked copy of the source
 * (<cache>/kernels/src-<variant>-<source key>/), so a mutant can patch one
 * variant and build it incrementally in the variant's own tree while the
 * others stay untouched.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot, hashOf } from '../cache.js';
import { buildTree, type BuiltTree, type TreeBuild } from './build-tree.js';
import { linkedSource, restoreSource } from './mutant-tree.js';
import { DEFAULT_TARBALL, kernelSource } from './source.js';
import { VARIANTS, type VariantName } from './variants.js';

export interface VariantBuildOptions {
  repoRoot: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
  tarball?: string;
}

export async function variantFragments(name: VariantName, repoRoot: string): Promise<string[]> {
  return Promise.all(VARIANTS[name].fragments.map((f) => readFile(path.join(repoRoot, 'vm/kernel-config', f), 'utf8')));
}

/** Where a variant is built and from what; its source is linked on first use. */
export async function variantTree(name: VariantName, opts: VariantBuildOptions): Promise<TreeBuild> {
  const source = await kernelSource(opts.tarball ?? DEFAULT_TARBALL, opts.progress);
  const fragments = await variantFragments(name, opts.repoRoot);
  const src = path.join(cacheRoot(), 'kernels', `src-${name}-${source.key}`);
  await linkedSource(source.dir, src, opts.progress);
  return {
    label: name,
    source: src,
    buildDir: path.join(cacheRoot(), 'kernels', `${name}-${source.version}`),
    fragments,
    inputsKey: hashOf(source.key, ...fragments),
    progress: opts.progress,
    signal: opts.signal,
    prepare: async () => {
      const left = await restoreSource(src);
      if (left !== null) opts.progress(`kernel ${name}: reverted a mutant an interrupted run left applied (${left})`);
    },
  };
}

export async function buildVariant(name: VariantName, opts: VariantBuildOptions): Promise<BuiltTree> {
  return buildTree(await variantTree(name, opts));
}
