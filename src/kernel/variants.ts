/**
 * The kernel variants the harness builds from Debian's linux-source-6.1:
 * the same minimal guest kernel with the reference count switched between
 * its implementations. Fragments live in vm/kernel-config/. Pure.
 */

export const VARIANTS = {
  pcpu: {
    fragments: ['base.config', 'pcpu.config'],
    what: 'per-CPU counters (CONFIG_PCPU_DEV_REFCNT=y, the 2010 mechanism)',
  },
  refcount: {
    fragments: ['base.config', 'refcount.config'],
    what: 'one checked refcount_t (CONFIG_PCPU_DEV_REFCNT=n): WARNs and saturates on misuse',
  },
  tracker: {
    fragments: ['base.config', 'tracker.config'],
    what: 'per-CPU counters plus the reference tracker (CONFIG_NET_DEV_REFCNT_TRACKER=y)',
  },
} as const;

export type VariantName = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];

/** What --kernel accepts besides a path: the distribution's kernel and the variants. */
export type KernelName = 'stock' | VariantName;
export const KERNEL_NAMES: readonly KernelName[] = ['stock', ...VARIANT_NAMES];

export function isVariant(name: string): name is VariantName {
  return Object.hasOwn(VARIANTS, name);
}
