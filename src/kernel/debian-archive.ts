/**
 * Debian's kernels by name (--kernel debian-6.12, debian-6.12-rt,
 * debian-6.1, or one ABI: debian-6.12.107): which packages of Debian's
 * archive make one, read from apt's own lists. Pure: it parses what
 * `apt-cache pkgnames` and `apt-cache show` print; debian-kernel.ts runs them.
 *
 * A kernel is four packages of one source version: the image
 * (linux-image-ABI-FLAVOUR-unsigned: vmlinuz, modules, config), its headers
 * (linux-headers-ABI-FLAVOUR: .config, Module.symvers, a one-line Makefile),
 * the headers they include (linux-headers-ABI-common or -common-rt) and the
 * kbuild programs (linux-kbuild-ABI, or linux-kbuild-6.1 for 6.1). The
 * headers package's Depends names the last two with their exact versions.
 */
import { compareReleases } from './release.js';

export type DebianFlavour = 'amd64' | 'rt-amd64';

export interface DebianKernelName {
  /** What the user wrote. */
  name: string;
  /** "6.1", "6.12". */
  series: string;
  /** One ABI as written ("6.12.107", "6.1.0-57"; matched against apt's "6.12.107+deb12"), or null for the newest in apt's lists. */
  abi: string | null;
  flavour: DebianFlavour;
}

export const DEBIAN_KERNEL_EXAMPLES = ['debian-6.1', 'debian-6.12', 'debian-6.12-rt'] as const;

const NAME = /^debian-(\d+\.\d+)(?:\.(\d+(?:-\d+)?))?(-rt)?$/;

export function isDebianKernelName(name: string): boolean {
  return NAME.test(name);
}

/** debian-SERIES[.SUBLEVEL|.0-ABI][-rt]; throws on anything else. */
export function parseDebianKernelName(name: string): DebianKernelName {
  const m = NAME.exec(name);
  if (!m) throw new Error(`"${name}" is not a Debian kernel name (${DEBIAN_KERNEL_EXAMPLES.join(', ')}, or one ABI such as debian-6.12.107)`);
  const series = m[1] as string;
  const flavour: DebianFlavour = m[3] ? 'rt-amd64' : 'amd64';
  if (!m[2]) return { name, series, abi: null, flavour };
  return { name, series, abi: `${series}.${m[2]}`, flavour };
}

/** The ABI of apt's list a name means: "6.1.0-57" itself, "6.12.107" the one with a Debian suffix ("6.12.107+deb12"). */
export function matchAbi(abis: readonly string[], wanted: string): string | undefined {
  return abis.find((a) => a === wanted || a.startsWith(`${wanted}+`));
}

const escape = (s: string): string => s.replace(/[.+]/g, (c) => `\\${c}`);

/** The ABIs of `series` whose unsigned image apt knows in `flavour`, newest first (from `apt-cache pkgnames linux-image-`). */
export function availableAbis(pkgnames: string, series: string, flavour: DebianFlavour): string[] {
  const re = new RegExp(`^linux-image-(${escape(series)}\\.\\d+(?:-\\d+|\\+deb\\d+))-${escape(flavour)}-unsigned$`);
  const abis = pkgnames
    .split('\n')
    .map((l) => re.exec(l.trim())?.[1])
    .filter((a): a is string => a !== undefined);
  return [...new Set(abis)].sort((a, b) => compareReleases(b, a));
}

export interface AptPackage {
  package: string;
  version: string;
  depends: { name: string; version: string | null }[];
}

/** One stanza of `apt-cache show --no-all-versions`. */
export function parseAptShow(text: string): AptPackage {
  const field = (k: string): string | undefined => new RegExp(`^${k}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const pkg = field('Package');
  const version = field('Version');
  if (!pkg || !version) throw new Error(`apt-cache show printed no Package or Version:\n${text.slice(0, 500)}`);
  const depends = (field('Depends') ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => {
      const m = /^(\S+)(?:\s*\(=\s*([^)]+)\))?/.exec(d);
      return { name: m?.[1] ?? d, version: m?.[2]?.trim() ?? null };
    });
  return { package: pkg, version, depends };
}

export interface DebianKernelPackages {
  abi: string;
  flavour: DebianFlavour;
  /** The release the kernel calls itself (uname -r): ABI-FLAVOUR. */
  release: string;
  /** The source version, e.g. 6.12.118-1~deb12u1. */
  version: string;
  /** name=version for apt-get download. */
  pins: string[];
}

export const imagePackage = (abi: string, flavour: DebianFlavour): string => `linux-image-${abi}-${flavour}-unsigned`;
export const headersPackage = (abi: string, flavour: DebianFlavour): string => `linux-headers-${abi}-${flavour}`;

/** The four packages from the headers' stanza: itself, the image, and what it depends on (common headers, kbuild) at its version. */
export function kernelPackages(abi: string, flavour: DebianFlavour, headers: AptPackage): DebianKernelPackages {
  const wanted = headers.depends.filter((d) => d.name.startsWith('linux-headers-') || d.name.startsWith('linux-kbuild-'));
  if (!wanted.some((d) => d.name.startsWith('linux-kbuild-'))) {
    throw new Error(`${headers.package} ${headers.version} depends on no linux-kbuild package: cannot tell how its tree is built`);
  }
  const pins = [
    `${imagePackage(abi, flavour)}=${headers.version}`,
    `${headers.package}=${headers.version}`,
    ...wanted.map((d) => `${d.name}=${d.version ?? headers.version}`),
  ];
  return { abi, flavour, release: `${abi}-${flavour}`, version: headers.version, pins };
}

/**
 * The headers' Makefile is one line, "include /usr/src/linux-headers-ABI-common/Makefile":
 * absolute, so into the host's /usr/src. make runs in the headers' directory
 * (make -C KDIR), so the same include, relative, finds the unpacked copy.
 */
export function relativeHeadersMakefile(makefile: string): string {
  const m = /^include \/usr\/src\/(\S+)\/Makefile[ \t]*$/m.exec(makefile);
  if (!m) throw new Error(`the headers' Makefile does not include /usr/src/...-common/Makefile: ${makefile.slice(0, 200)}`);
  return makefile.replace(m[0], `include ../${m[1]}/Makefile`);
}
