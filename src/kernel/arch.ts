/**
 * The architectures the harness builds and boots kernels for, as data: how
 * kbuild is called for each (ARCH=, CROSS_COMPILE=), where the boot image
 * lands, the base config fragment, the C compiler for the guest's static
 * programs, Debian's name for it (busybox-static is fetched by it), and the
 * QEMU that runs it. Everything that differs between x86-64 and arm64 is in
 * this table; the code that builds and boots reads it. Pure.
 */
import os from 'node:os';

export type Arch = 'x86_64' | 'arm64';

export interface ArchSpec {
  name: Arch;
  /** kbuild's ARCH=. */
  kbuild: string;
  /** The cross toolchain's prefix from an x86-64 host (Debian's gcc-<triple> package), '' for none. */
  crossCompile: string;
  /** Debian package that provides the cross compiler, for the error that says to install it. */
  crossPackage: string | null;
  /** The make target and the image it writes, relative to the build directory. */
  imageTarget: string;
  image: string;
  /** The config fragment every variant of this architecture starts from (vm/kernel-config/). */
  baseFragment: string;
  /** Debian's architecture name (dpkg --print-architecture). */
  debian: string;
  /** The QEMU system emulator, and the Debian package that has it. */
  qemu: string;
  qemuPackage: string;
  /** The console the kernel writes to on the machine the harness gives it. */
  console: string;
  /** Kconfig symbol only this architecture's .config sets: how a tree's architecture is read. */
  configSymbol: string;
}

export const ARCHES: Record<Arch, ArchSpec> = {
  x86_64: {
    name: 'x86_64',
    kbuild: 'x86',
    crossCompile: '',
    crossPackage: null,
    imageTarget: 'bzImage',
    image: 'arch/x86/boot/bzImage',
    // Its text is every x86 variant's cache key: it keeps its name and words.
    baseFragment: 'base.config',
    debian: 'amd64',
    qemu: 'qemu-system-x86_64',
    qemuPackage: 'qemu-system-x86',
    console: 'ttyS0',
    configSymbol: 'CONFIG_X86_64',
  },
  arm64: {
    name: 'arm64',
    kbuild: 'arm64',
    crossCompile: 'aarch64-linux-gnu-',
    crossPackage: 'gcc-aarch64-linux-gnu',
    imageTarget: 'Image',
    image: 'arch/arm64/boot/Image',
    baseFragment: 'base-arm64.config',
    debian: 'arm64',
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    // virt's PL011.
    console: 'ttyAMA0',
    configSymbol: 'CONFIG_ARM64',
  },
};

export const ARCH_NAMES = Object.keys(ARCHES) as Arch[];

/** The architecture of the machine the harness runs on (the stock kernel's, the host compiler's). */
export function hostArch(): Arch {
  const a = os.arch();
  if (a === 'x64') return 'x86_64';
  if (a === 'arm64') return 'arm64';
  throw new Error(`the harness runs on x86-64 or arm64 hosts, not ${a}`);
}

/** ARCH= and CROSS_COMPILE= for make, where the target is not the host's architecture (none where it is). */
export function kbuildArgs(arch: Arch, host: Arch = hostArch()): string[] {
  if (arch === host) return [];
  return [`ARCH=${ARCHES[arch].kbuild}`, ...(ARCHES[arch].crossCompile ? [`CROSS_COMPILE=${ARCHES[arch].crossCompile}`] : [])];
}

/** The C compiler for a static guest program of this architecture. */
export function guestCc(arch: Arch, host: Arch = hostArch()): string {
  return arch === host ? 'gcc' : `${ARCHES[arch].crossCompile}gcc`;
}

/** A kernel tree's architecture from its .config text, or null when it says neither. */
export function archOfConfig(config: string): Arch | null {
  for (const a of ARCH_NAMES) if (new RegExp(`^${ARCHES[a].configSymbol}=y$`, 'm').test(config)) return a;
  return null;
}

/** arm64's Image header: "ARM\x64" at 0x38 (Documentation/arm64/booting.rst). */
export function isArm64Image(head: Buffer): boolean {
  return head.length >= 0x3c && head.readUInt32LE(0x38) === 0x644d5241;
}
