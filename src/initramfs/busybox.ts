/**
 * The guest's userland: a static busybox of the guest's architecture. On
 * the host's own architecture it is the installed busybox-static
 * (/bin/busybox, or --busybox). For another (arm64 on an x86-64 host) it is
 * Debian's busybox-static of that architecture, fetched with `apt-get
 * download` and unpacked with `dpkg-deb -x` into the cache: never installed.
 *
 * apt only downloads what its lists know, and the host's lists have only the
 * host's architecture. Adding arm64 to the host (dpkg --add-architecture)
 * would change what every later apt-get upgrade does, so the download goes
 * through an apt state of its own in the cache: the host's sources, but its
 * own lists (APT::Architectures=arm64, about 9 MB fetched once), its own
 * package cache, and an empty dpkg status. The host's apt and dpkg
 * configuration stay exactly as they were.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, cacheRoot, hashOf } from '../cache/cache.js';
import { HarnessError } from '../errors.js';
import { ARCHES, hostArch, type Arch } from '../kernel/arch.js';

/** apt's options for an apt state of arch's own under dir. Pure. */
export function foreignAptOptions(arch: Arch, dir: string): string[] {
  const d = ARCHES[arch].debian;
  return [
    '-o', `APT::Architecture=${d}`,
    '-o', `APT::Architectures=${d}`,
    '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`,
    '-o', `Dir::State::status=${path.join(dir, 'status')}`,
    '-o', `Dir::Cache=${path.join(dir, 'cache')}`,
  ];
}

async function run(cmd: string, args: string[], what: string, cwd?: string): Promise<void> {
  const r = await execa(cmd, args, { reject: false, all: true, timeout: 600_000, ...(cwd ? { cwd } : {}) });
  if (r.failed) {
    const tail = (r.all ?? r.shortMessage ?? '').split('\n').filter((l) => l && !l.startsWith('W: Download is performed unsandboxed')).slice(-4).join(' | ');
    throw new HarnessError(`${what}: ${cmd} ${args.slice(-2).join(' ')} failed: ${tail}`, 'check that the Debian archive is reachable (apt-get update works as root); the fetch starts over next time');
  }
}

/** A static busybox for arch: the host's for its own architecture, else Debian's, fetched into the cache. */
export async function busyboxFor(arch: Arch, hostBusybox: string, progress: (line: string) => void): Promise<string> {
  if (arch === hostArch()) return hostBusybox;
  const d = ARCHES[arch].debian;
  const aptDir = path.join(cacheRoot(), `apt-${d}`);
  // Keyed by the architecture only: the first fetch is kept (busybox-static changes once a point release).
  const { dir, hit } = await cachedDir('busybox', hashOf('busybox-static', d), async (tmp) => {
    progress(`busybox: fetching Debian's busybox-static:${d} (an apt state of its own in ${aptDir}: the host's apt is not changed)`);
    await mkdir(path.join(aptDir, 'lists/partial'), { recursive: true });
    await mkdir(path.join(aptDir, 'cache/archives/partial'), { recursive: true });
    await writeFile(path.join(aptDir, 'status'), '');
    const opts = foreignAptOptions(arch, aptDir);
    await run('apt-get', [...opts, 'update'], `reading Debian's ${d} package lists`);
    await run('apt-get', [...opts, 'download', `busybox-static:${d}`], `downloading busybox-static:${d}`, tmp);
    const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new HarnessError(`apt-get download busybox-static:${d} left no .deb`, 'run again; if it persists, check apt-get download by hand');
    await run('dpkg-deb', ['-x', deb, 'root'], `unpacking ${deb}`, tmp);
    await rm(path.join(tmp, deb));
  });
  const bin = path.join(dir, 'root/bin/busybox');
  if (!hit) progress(`busybox: ${bin}`);
  return bin;
}
