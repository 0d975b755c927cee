/**
 * Builds kmod/ against the kernel's kbuild tree, out of the source tree (in
 * the cache, keyed by the sources and the tree), and checks the result would
 * be accepted by that kernel before anything boots.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, hashOf } from '../cache/cache.js';
import { diskFailure, HarnessError, UntestableError } from '../errors.js';
import type { Kernel } from '../kernel/discover.js';
import { readVermagic, vermagicRelease } from './vermagic.js';
import { ARCHES, guestCc, kbuildArgs, type Arch } from '../kernel/arch.js';

export const MODULE_NAME = 'refprobe';

export interface BuiltModule {
  ko: string;
  vermagic: string;
  cached: boolean;
  log: string;
}

/** The module's source files (what the build and its cache key read). */
export async function sources(kmodDir: string): Promise<{ name: string; data: Buffer }[]> {
  const names = (await readdir(kmodDir)).filter((n) => n === 'Makefile' || n === 'Kbuild' || /\.[ch]$/.test(n)).sort();
  return Promise.all(names.map(async (name) => ({ name, data: await readFile(path.join(kmodDir, name)) })));
}

/**
 * A tree that ships vmlinux with CONFIG_DEBUG_INFO_BTF_MODULES=y (Debian's
 * 6.12 headers) ends every module build with a BTF step run by pahole;
 * without it make fails with "pahole: not found" after the module compiled.
 */
async function needPahole(kdir: string): Promise<void> {
  const config = await readFile(path.join(kdir, '.config'), 'utf8').catch(() => '');
  if (!/^CONFIG_DEBUG_INFO_BTF_MODULES=y$/m.test(config) || !existsSync(path.join(kdir, 'vmlinux'))) return;
  const found = await execa('sh', ['-c', 'command -v pahole'], { reject: false });
  if (found.exitCode !== 0) {
    throw new HarnessError(`the kbuild tree ${kdir} generates BTF for modules (CONFIG_DEBUG_INFO_BTF_MODULES=y), which needs pahole, and pahole is not installed`, 'apt-get install dwarves (make vm-test installs it)');
  }
}

/** A cross-built module needs the architecture's compiler: say which package has it, before make fails on it. */
async function needCrossCompiler(arch: Arch | undefined): Promise<void> {
  if (!arch || kbuildArgs(arch).length === 0) return;
  const cc = guestCc(arch);
  const found = await execa('sh', ['-c', `command -v ${cc}`], { reject: false });
  if (found.exitCode !== 0) throw new HarnessError(`building the module for ${arch} needs ${cc}, which is not installed`, `apt-get install ${ARCHES[arch].crossPackage ?? cc} (make vm-test installs it)`);
}

/** The kernel: its release and kbuild tree, and its image where there is one here (not for a machine over SSH). */
export async function buildModule(kernel: Pick<Kernel, 'release' | 'kdir'> & { image?: string; arch?: Arch }, kmodDir: string): Promise<BuiltModule> {
  // A machine over SSH builds on itself (arch unknown here, and its own compiler).
  const cross = kernel.arch ? kbuildArgs(kernel.arch) : [];
  const src = await sources(kmodDir);
  const symvers = await readFile(path.join(kernel.kdir, 'Module.symvers')).catch(() => Buffer.alloc(0));
  // A rebuilt tree (a mutant's patched header, say) keeps its release and
  // symbols; the module inlines dev_hold() from its headers, so the image's
  // identity is part of the key too.
  const image = kernel.image ? await stat(kernel.image) : null;
  const key = hashOf(kernel.release, path.resolve(kernel.kdir), symvers, String(image?.size ?? ''), String(image?.mtimeMs ?? ''), ...cross, ...src.flatMap((s) => [s.name, s.data]));
  const { dir, hit } = await cachedDir('kmod', key, async (tmp) => {
    await needPahole(kernel.kdir);
    for (const s of src) await writeFile(path.join(tmp, s.name), s.data);
    await needCrossCompiler(kernel.arch);
    const r = await execa('make', ['-C', kernel.kdir, `M=${tmp}`, ...cross, 'modules'], { all: true, reject: false, timeout: 600_000 });
    await writeFile(path.join(tmp, 'build.log'), r.all ?? '');
    if (r.failed) {
      const disk = diskFailure(r.all ?? '', tmp);
      if (disk) throw disk;
      const tail = (r.all ?? '').split('\n').slice(-25).join('\n');
      throw new UntestableError(
        `building the module against ${kernel.kdir} failed (${r.shortMessage})`,
        'check that the kbuild tree is configured and built (make modules_prepare) and that gcc and make are installed',
        tail,
      );
    }
  });
  const ko = path.join(dir, `${MODULE_NAME}.ko`);
  const vermagic = readVermagic(await readFile(ko));
  if (vermagicRelease(vermagic) !== kernel.release) {
    throw new HarnessError(
      `the module was built for ${vermagicRelease(vermagic)} but the kernel is ${kernel.release}: it would be refused at load`,
      `pass --kdir with the kbuild tree of ${kernel.release}`,
    );
  }
  return { ko, vermagic, cached: hit, log: path.join(dir, 'build.log') };
}
