/**
 * The kernel variants the harness builds from Debian's kernel sources: the
 * same minimal guest kernel with the reference count switched between its
 * implementations, from linux-source-6.1 (pcpu, refcount, tracker) and
 * linux-source-6.12 (pcpu-6.12, refcount-6.12, tracker-6.12). The fragments
 * in vm/kernel-config/ hold for both releases. Pure.
 */

/** How the reference count is configured: the fragments on top of base.config. */
export const KINDS = {
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

export type VariantKind = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as VariantKind[];

/** The Debian source packages variants are built from; 6.1 is the default (its variants' names carry no release). */
export const SOURCES = {
  '6.1': { package: 'linux-source-6.1', tarball: '/usr/src/linux-source-6.1.tar.xz' },
  '6.12': { package: 'linux-source-6.12', tarball: '/usr/src/linux-source-6.12.tar.xz' },
} as const;

export type SourceRelease = keyof typeof SOURCES;
export const SOURCE_RELEASES = Object.keys(SOURCES) as SourceRelease[];
export const DEFAULT_RELEASE: SourceRelease = '6.1';

export type VariantName = VariantKind | `${VariantKind}-6.12`;

/** Every variant, 6.1's first: pcpu, refcount, tracker, pcpu-6.12, refcount-6.12, tracker-6.12. */
export const VARIANT_NAMES: readonly VariantName[] = SOURCE_RELEASES.flatMap((r) => KIND_NAMES.map((k) => variantName(k, r)));

export function variantName(kind: VariantKind, release: SourceRelease): VariantName {
  return (release === DEFAULT_RELEASE ? kind : `${kind}-${release}`) as VariantName;
}

export function isVariant(name: string): name is VariantName {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/** A variant's configuration and source. */
export function variantOf(name: VariantName): { kind: VariantKind; release: SourceRelease } {
  const [kind, release] = name.split('-') as [VariantKind, SourceRelease | undefined];
  return { kind, release: release ?? DEFAULT_RELEASE };
}

/** The series ("6.12") a version ("6.12.118") belongs to, when the harness has its source; else null. */
export function sourceReleaseOf(version: string): SourceRelease | null {
  const series = /^(\d+\.\d+)/.exec(version)?.[1];
  return series !== undefined && Object.hasOwn(SOURCES, series) ? (series as SourceRelease) : null;
}

/** What --kernel accepts besides a path: the distribution's kernel and the variants. */
export type KernelName = 'stock' | VariantName;
export const KERNEL_NAMES: readonly KernelName[] = ['stock', ...VARIANT_NAMES];
