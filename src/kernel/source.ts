/**
 * The kernel source the variants are built from: Debian's linux-source-X.Y
 * tarball (variants.ts SOURCES), unpacked once into the cache (keyed by the tarball) so builds and
 * mutant patches never touch /usr/src.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, hashOf } from '../cache/cache.js';
import { HarnessError } from '../errors.js';

export interface KernelSource {
  dir: string;
  /** VERSION.PATCHLEVEL.SUBLEVEL from the top Makefile, e.g. 6.1.192. */
  version: string;
  /** Identifies the unpacked tree in cache keys. */
  key: string;
}

export function makefileVersion(makefile: string): string {
  const get = (k: string): string => {
    const m = new RegExp(`^${k}\\s*=\\s*(\\d+)`, 'm').exec(makefile);
    if (!m) throw new Error(`no ${k} in the top Makefile`);
    return m[1] as string;
  };
  return `${get('VERSION')}.${get('PATCHLEVEL')}.${get('SUBLEVEL')}`;
}

export async function kernelSource(tarball: string, progress: (line: string) => void, pkg = 'linux-source-6.1'): Promise<KernelSource> {
  const st = await stat(tarball).catch(() => null);
  if (!st) {
    throw new HarnessError(
      `no kernel source tarball at ${tarball}`,
      `run \`make kernels\` (it installs ${pkg} with apt-get), or apt-get install ${pkg}`,
    );
  }
  const key = hashOf(path.resolve(tarball), String(st.size), String(st.mtimeMs));
  const { dir, hit } = await cachedDir('src', key, async (tmp) => {
    progress(`source: unpacking ${tarball} (about a minute, once)`);
    await execa('tar', ['-xf', tarball, '-C', tmp, '--strip-components=1'], { timeout: 900_000 });
  }, undefined, { sizesOnly: true });
  if (!hit) progress(`source: unpacked into ${dir}`);
  const version = makefileVersion(await readFile(path.join(dir, 'Makefile'), 'utf8'));
  return { dir, version, key };
}
