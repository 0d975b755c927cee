/**
 * Finds the kernel under test: its bzImage and the kbuild tree the module is
 * built against, and checks that they belong together before anything is
 * built or booted.
 */
import { readdir, readFile, open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { HarnessError } from '../errors.js';
import { readArm64ImageVersion, readImageVersion } from './bzimage.js';
import { ARCHES, archOfConfig, hostArch, isArm64Image, kbuildArgs, type Arch } from './arch.js';
import { compareReleases, parseUtsRelease } from './release.js';

export interface Kernel {
  image: string;
  /** What it runs on (arch.ts): from its tree's .config, or its image's header. */
  arch: Arch;
  kdir: string;
  release: string;
  banner: string;
  /** The uncompressed kernel of a built tree, bootable directly through PVH. */
  vmlinux?: string;
  /** Its modules (lib/modules/<release>), where they are not the host's: a Debian kernel unpacked into the cache. */
  modulesDir?: string;
}

export interface KernelChoice {
  /** A built kernel tree: its bzImage, vmlinux and kbuild files. */
  tree?: string;
  /** A bzImage path; default: the newest /boot/vmlinuz-* with a kbuild tree. */
  image?: string;
  /** Its kbuild tree; default: /lib/modules/<release>/build. */
  kdir?: string;
  bootDir?: string;
  modulesDir?: string;
}

async function imageVersion(image: string): Promise<{ release: string; banner: string; arch: Arch }> {
  let fh;
  try {
    fh = await open(image, 'r');
  } catch {
    throw new HarnessError(`kernel image ${image} cannot be read`, 'pass --kernel with the path of a bzImage (e.g. /boot/vmlinuz-$(uname -r) or arch/x86/boot/bzImage)');
  }
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (isArm64Image(head.subarray(0, bytesRead))) return { ...(await readFile(image).then(readArm64ImageVersion)), arch: 'arm64' };
    return { ...readImageVersion(head.subarray(0, bytesRead)), arch: 'x86_64' };
  } catch (e) {
    throw new HarnessError(`${image} is not a bootable x86 or arm64 kernel: ${(e as Error).message}`, 'pass --kernel with a bzImage (arch/x86/boot/bzImage of a built tree) or an arm64 Image (arch/arm64/boot/Image)');
  } finally {
    await fh.close();
  }
}

async function kdirRelease(kdir: string): Promise<string> {
  const file = path.join(kdir, 'include/generated/utsrelease.h');
  try {
    return parseUtsRelease(await readFile(file, 'utf8'));
  } catch {
    throw new HarnessError(
      `${kdir} is not a prepared kbuild tree (no ${file})`,
      'pass --kdir with a configured and built kernel tree, or install the matching headers (apt-get install linux-headers-<release>)',
    );
  }
}

async function newestBootImage(bootDir: string, modulesDir: string): Promise<{ image: string; kdir: string }> {
  const names = existsSync(bootDir) ? await readdir(bootDir) : [];
  const images = names.filter((n) => n.startsWith('vmlinuz-')).sort((a, b) => compareReleases(b, a));
  if (images.length === 0) {
    throw new HarnessError(
      `no kernel image in ${bootDir}`,
      'run `make vm-test` (it installs linux-image-amd64 and linux-headers-amd64), or pass --kernel IMAGE --kdir DIR',
    );
  }
  for (const name of images) {
    const kdir = path.join(modulesDir, name.slice('vmlinuz-'.length), 'build');
    if (existsSync(path.join(kdir, 'Makefile'))) return { image: path.join(bootDir, name), kdir };
  }
  const newest = images[0] as string;
  throw new HarnessError(
    `no kbuild tree for any kernel in ${bootDir} (newest: ${newest})`,
    `apt-get install linux-headers-${newest.slice('vmlinuz-'.length)}, or pass --kdir DIR`,
  );
}

export async function discoverKernel(choice: KernelChoice = {}): Promise<Kernel> {
  const bootDir = choice.bootDir ?? '/boot';
  const modulesDir = choice.modulesDir ?? '/lib/modules';
  if (choice.tree) return discoverTree(choice.tree);
  let image = choice.image;
  let kdir = choice.kdir;
  if (!image) {
    const found = await newestBootImage(bootDir, modulesDir);
    image = found.image;
    kdir ??= found.kdir;
  }
  const { release, banner, arch } = await imageVersion(image);
  kdir ??= path.join(modulesDir, release, 'build');
  if (!existsSync(kdir)) {
    throw new HarnessError(
      `no kbuild tree for ${release} at ${kdir}`,
      `apt-get install linux-headers-${release}, or pass --kdir with the tree ${image} was built from`,
    );
  }
  const built = await kdirRelease(kdir);
  if (built !== release) {
    throw new HarnessError(
      `kernel ${image} is ${release} but the kbuild tree ${kdir} is ${built}: a module built there would be refused (vermagic)`,
      `pass --kdir with the tree of ${release} (e.g. /lib/modules/${release}/build), or --kernel with the image of ${built}`,
    );
  }
  return { image, arch, kdir, release, banner };
}

async function discoverTree(tree: string): Promise<Kernel> {
  const arch = archOfConfig(await readFile(path.join(tree, '.config'), 'utf8').catch(() => '')) ?? hostArch();
  const { image: rel, imageTarget } = ARCHES[arch];
  const image = path.join(tree, rel);
  if (!existsSync(image)) {
    throw new HarnessError(`${tree} has no ${rel}: not a built ${arch} kernel tree`, `build it first (make -C ${tree} ${imageTarget} modules${kbuildArgs(arch).map((a) => ` ${a}`).join('')}), or pass --kernel IMAGE --kdir DIR`);
  }
  if (!existsSync(path.join(tree, 'Module.symvers'))) {
    throw new HarnessError(`${tree} has no Module.symvers: the module cannot be built against it`, `run make -C ${tree} modules`);
  }
  const kernel = await discoverKernel({ image, kdir: tree });
  const vmlinux = path.join(tree, 'vmlinux');
  return existsSync(vmlinux) ? { ...kernel, vmlinux } : kernel;
}
