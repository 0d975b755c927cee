/**
 * --kernel and --kernel-tree to a Kernel: the distribution's kernel
 * ("stock", the default), one of Debian's archive by name (debian-6.12,
 * fetched into the cache, never installed), a named variant (built from linux-source-6.1 or -6.12 in
 * the cache on first use), the user's tree (built incrementally before
 * the run), a tree the harness built, or a bzImage path.
 */
import path from 'node:path';
import type { BuiltTree } from './build-tree.js';
import { buildVariant } from './build-variant.js';
import { buildUserTree } from './user-tree.js';
import { discoverKernel, type Kernel } from './discover.js';
import { isVariant, KERNEL_NAMES, type KernelName } from './variants.js';
import { isDebianKernelName } from './debian-archive.js';
import { debianKernel } from './debian-kernel.js';

export interface KernelSpec {
  /** 'stock', a variant name, or the path of a bzImage. */
  kernel?: string;
  /** The user's tree (--kernel-tree): built before the run (user-tree.ts). */
  kernelTree?: string;
  /** A tree the harness built already (a variant's, a patched one's build directory): booted as it is. */
  builtTree?: string;
  kdir?: string;
}

/** A kernel --kernel names rather than a path: stock, a variant, or one of Debian's archive. */
export function isNamedKernel(name: string): boolean {
  return KERNEL_NAMES.includes(name as KernelName) || isDebianKernelName(name);
}

const userBuilds = new Map<string, Promise<BuiltTree>>();

export async function selectKernel(spec: KernelSpec, repoRoot: string, progress: (line: string) => void, signal?: AbortSignal): Promise<Kernel> {
  if (spec.builtTree) return discoverKernel({ tree: spec.builtTree });
  if (spec.kernelTree) {
    const key = path.resolve(spec.kernelTree);
    // Built once per harness run, however many topologies boot it.
    let built = userBuilds.get(key);
    if (!built) {
      const label = path.basename(key);
      built = buildUserTree(spec.kernelTree, { label, repoRoot, progress, signal });
      userBuilds.set(key, built);
      built.then((b) => progress(`kernel ${label}: built ${b.dir} (${b.seconds} s)`), () => userBuilds.delete(key));
    }
    return discoverKernel({ tree: (await built).dir });
  }
  const name = spec.kernel ?? 'stock';
  if (name === 'stock') return discoverKernel({ kdir: spec.kdir });
  if (isDebianKernelName(name)) return debianKernel(name, progress);
  if (isVariant(name)) {
    const built = await buildVariant(name, { repoRoot, progress, signal });
    progress(`kernel ${name}: ${built.reused ? 'reused' : 'built'} ${built.dir} (${built.seconds} s)`);
    return discoverKernel({ tree: built.dir });
  }
  return discoverKernel({ image: name, kdir: spec.kdir });
}
