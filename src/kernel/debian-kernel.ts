/**
 * A kernel of Debian's archive, fetched by name into the cache: `apt-get
 * download` of its four packages and `dpkg-deb -x` into one root. Nothing is
 * installed: the host's /boot, /lib/modules and bootloader stay as they are.
 * The root is the cache entry (<cache>/debian/<release>-<version>/), made
 * once and published by rename (cache.ts). Thin: the choices are in
 * debian-archive.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir } from '../cache/cache.js';
import { HarnessError } from '../errors.js';
import {
  availableAbis,
  DEBIAN_KERNEL_EXAMPLES,
  headersPackage,
  kernelPackages,
  matchAbi,
  parseAptShow,
  parseDebianKernelName,
  relativeHeadersMakefile,
  type DebianKernelPackages,
} from './debian-archive.js';
import { discoverKernel, type Kernel } from './discover.js';

const APT_FIX = 'run apt-get update (as root) so apt knows the archive, and check that bookworm-security is in the sources';

/** Runs one of apt's or dpkg's tools; a failure says what it was doing and what to do (by default: apt's lists). */
async function apt(args: string[], what: string, opts: { cwd?: string; timeout?: number; fix?: string } = {}): Promise<string> {
  const r = await execa(args[0] as string, args.slice(1), { reject: false, timeout: opts.timeout ?? 60_000, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  if (r.failed) {
    throw new HarnessError(
      `${what}: ${args.join(' ')} failed (${r.exitCode ?? r.signal}): ${(r.stderr || r.stdout).split('\n').filter((l) => !l.startsWith('W: Download is performed unsandboxed')).join(' ').slice(0, 400)}`,
      opts.fix ?? APT_FIX,
    );
  }
  return r.stdout;
}

/** Which packages the name means, from apt's lists. */
export async function resolveDebianKernel(name: string): Promise<DebianKernelPackages> {
  let parsed;
  try {
    parsed = parseDebianKernelName(name);
  } catch (e) {
    throw new HarnessError((e as Error).message, `pass --kernel with one of ${DEBIAN_KERNEL_EXAMPLES.join(', ')}`);
  }
  const abis = availableAbis(await apt(['apt-cache', 'pkgnames', 'linux-image-'], `looking up ${name}`), parsed.series, parsed.flavour);
  const abi = parsed.abi === null ? abis[0] : matchAbi(abis, parsed.abi);
  if (!abi) {
    throw new HarnessError(
      `apt knows no ${parsed.flavour} kernel ${parsed.abi ?? parsed.series} (linux-image-${parsed.abi ?? `${parsed.series}.*`}-${parsed.flavour}-unsigned)`,
      abis.length ? `pick one apt has: ${abis.map((a) => `debian-${a.replace(/\+deb\d+$/, '')}${parsed.flavour === 'rt-amd64' ? '-rt' : ''}`).join(', ')}` : 'run apt-get update (as root); Debian 12 has 6.1 in bookworm and 6.12 in bookworm-security',
    );
  }
  const show = await apt(['apt-cache', 'show', '--no-all-versions', headersPackage(abi, parsed.flavour)], `looking up ${name}`);
  return kernelPackages(abi, parsed.flavour, parseAptShow(show));
}

/** Downloads the packages into the (temporary) root and unpacks them there, fixing what points into the host's /usr/src. */
async function unpack(pkgs: DebianKernelPackages, root: string, progress: (line: string) => void): Promise<void> {
  const debs = path.join(root, '.debs');
  await mkdir(debs, { recursive: true });
  progress(`kernel debian ${pkgs.release}: apt-get download ${pkgs.pins.join(' ')}`);
  await apt(['apt-get', 'download', ...pkgs.pins], `downloading ${pkgs.release}`, { cwd: debs, timeout: 900_000 });
  for (const deb of (await readdir(debs)).filter((f) => f.endsWith('.deb'))) {
    await apt(['dpkg-deb', '-x', path.join(debs, deb), root], `unpacking ${deb}`, {
      timeout: 300_000,
      fix: 'check the free space of the cache (df -h); the half-unpacked kernel was removed, so the next run downloads it again',
    });
  }
  await rm(debs, { recursive: true, force: true });
  const kdir = path.join(root, 'usr/src', `linux-headers-${pkgs.release}`);
  const makefile = path.join(kdir, 'Makefile');
  await writeFile(makefile, relativeHeadersMakefile(await readFile(makefile, 'utf8')));
  // lib/modules/RELEASE/build points at /usr/src, the host's: point it at this root's headers.
  const mod = path.join(root, 'lib/modules', pkgs.release);
  await unlink(path.join(mod, 'build')).catch(() => undefined);
  await symlink(path.relative(mod, kdir), path.join(mod, 'build'));
  // The image ships no modules.dep (the package's postinst runs depmod): the command channel's modules need it.
  await apt(['depmod', '-b', root, pkgs.release], `depmod for ${pkgs.release}`, { timeout: 300_000, fix: 'apt-get install kmod (make vm-test installs it), then run again' });
}

/** The kernel, fetched and unpacked on first use. */
export async function debianKernel(name: string, progress: (line: string) => void): Promise<Kernel> {
  const pkgs = await resolveDebianKernel(name);
  const key = `${pkgs.release}-${pkgs.version.replace(/[^A-Za-z0-9.+-]/g, '_')}`;
  const { dir, hit } = await cachedDir('debian', key, (tmp) => unpack(pkgs, tmp, progress));
  progress(`kernel ${name}: ${hit ? 'cached' : 'unpacked'} Debian ${pkgs.release} (${pkgs.version}) in ${dir}`);
  const image = path.join(dir, 'boot', `vmlinuz-${pkgs.release}`);
  const kdir = path.join(dir, 'usr/src', `linux-headers-${pkgs.release}`);
  if (!existsSync(image) || !existsSync(kdir)) {
    throw new HarnessError(`the cached Debian kernel ${dir} has no ${existsSync(image) ? kdir : image}`, `remove ${dir}; the next run fetches it again`);
  }
  const kernel = await discoverKernel({ image, kdir });
  return { ...kernel, modulesDir: path.join(dir, 'lib/modules', pkgs.release) };
}
