/**
 * The kernel variants the harness builds from Debian's kernel sources: the
 * same minimal guest kernel with the reference count switched between its
 * implementations, from linux-source-6.1 (pcpu, refcount, tracker) and
 * linux-source-6.12 (pcpu-6.12, refcount-6.12, tracker-6.12) for x86-64,
 * and from linux-source-6.1 for arm64 (pcpu-arm64, refcount-arm64), cross-
 * built. A name is KIND[-RELEASE][-ARCH]; the fragments in vm/kernel-config/
 * hold for both releases, the architecture's base fragment replaces
 * base.config (arch.ts). Pure.
 */
import { ARCHES, type Arch } from './arch.js';

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

/** The architectures other than x86-64 variants are built for, and the kinds each has (arm64: no tracker). */
export const CROSS_VARIANTS: Partial<Record<Arch, readonly VariantKind[]>> = { arm64: ['pcpu', 'refcount'] };

export type VariantName = VariantKind | `${VariantKind}-6.12` | `${VariantKind}-arm64`;

/** Every variant, 6.1's first, then the other architectures': pcpu, ..., tracker-6.12, pcpu-arm64, refcount-arm64. */
export const VARIANT_NAMES: readonly VariantName[] = [
  ...SOURCE_RELEASES.flatMap((r) => KIND_NAMES.map((k) => variantName(k, r))),
  ...Object.entries(CROSS_VARIANTS).flatMap(([arch, kinds]) => kinds.map((k) => variantName(k, DEFAULT_RELEASE, arch as Arch))),
];

export function variantName(kind: VariantKind, release: SourceRelease, arch: Arch = 'x86_64'): VariantName {
  return [kind, ...(release === DEFAULT_RELEASE ? [] : [release]), ...(arch === 'x86_64' ? [] : [arch])].join('-') as VariantName;
}

export function isVariant(name: string): name is VariantName {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/** A variant's configuration, source and architecture. */
export function variantOf(name: VariantName): { kind: VariantKind; release: SourceRelease; arch: Arch } {
  const [kind, ...rest] = name.split('-') as [VariantKind, ...string[]];
  const arch = (rest.find((r) => Object.hasOwn(ARCHES, r)) as Arch | undefined) ?? 'x86_64';
  const release = (rest.find((r) => Object.hasOwn(SOURCES, r)) as SourceRelease | undefined) ?? DEFAULT_RELEASE;
  return { kind, release, arch };
}

/** The series ("6.12") a version ("6.12.118") belongs to, when the harness has its source; else null. */
export function sourceReleaseOf(version: string): SourceRelease | null {
  const series = /^(\d+\.\d+)/.exec(version)?.[1];
  return series !== undefined && Object.hasOwn(SOURCES, series) ? (series as SourceRelease) : null;
}

/** What --kernel accepts besides a path: the distribution's kernel and the variants. */
export type KernelName = 'stock' | VariantName;
export const KERNEL_NAMES: readonly KernelName[] = ['stock', ...VARIANT_NAMES];
