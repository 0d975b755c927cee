/**
 * --kernel and --kernel-tree to a Kernel: the distribution's kernel
 * ("stock", the default), a named variant (built from linux-source-6.1 in
 * the cache on first use), any built tree, or a bzImage path.
 */
import { buildVariant } from './build-variant.js';
import { discoverKernel, type Kernel } from './discover.js';
import { isVariant } from './variants.js';

export interface KernelSpec {
  /** 'stock', a variant name, or the path of a bzImage. */
  kernel?: string;
  kernelTree?: string;
  kdir?: string;
}

export async function selectKernel(spec: KernelSpec, repoRoot: string, progress: (line: string) => void, signal?: AbortSignal): Promise<Kernel> {
  if (spec.kernelTree) return discoverKernel({ tree: spec.kernelTree });
  const name = spec.kernel ?? 'stock';
  if (name === 'stock') return discoverKernel({ kdir: spec.kdir });
  if (isVariant(name)) {
    const built = await buildVariant(name, { repoRoot, progress, signal });
    progress(`kernel ${name}: ${built.reused ? 'reused' : 'built'} ${built.dir} (${built.seconds} s)`);
    return discoverKernel({ tree: built.dir });
  }
  return discoverKernel({ image: name, kdir: spec.kdir });
}
