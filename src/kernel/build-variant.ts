/**
 * A named kernel variant, built (or reused) in the cache:
 * <cache>/kernels/<variant>-<source version>/, rebuilt incrementally when
 * the source or a fragment changes (the stamp holds their hash).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot, hashOf } from '../cache.js';
import { buildTree, type BuiltTree } from './build-tree.js';
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

export async function buildVariant(name: VariantName, opts: VariantBuildOptions): Promise<BuiltTree> {
  const source = await kernelSource(opts.tarball ?? DEFAULT_TARBALL, opts.progress);
  const fragments = await variantFragments(name, opts.repoRoot);
  return buildTree({
    label: name,
    source: source.dir,
    buildDir: path.join(cacheRoot(), 'kernels', `${name}-${source.version}`),
    fragments,
    inputsKey: hashOf(source.key, ...fragments),
    progress: opts.progress,
    signal: opts.signal,
  });
}
