/**
 * Small C programs the guest runs (the command agent, the benchmark's
 * flood), compiled statically on the host: the guest has busybox and no
 * libc. Cached by source, like every other build product.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, hashOf } from '../cache/cache.js';
import { HarnessError } from '../errors.js';
import { ARCHES, guestCc, hostArch, type Arch } from '../kernel/arch.js';

/** Compiles repoRoot/source into a static executable called name, for arch (default the host's); returns its path. */
export async function buildStatic(repoRoot: string, source: string, name: string, arch: Arch = hostArch()): Promise<string> {
  const src = path.join(repoRoot, source);
  let text: Buffer;
  try {
    text = await readFile(src);
  } catch {
    throw new HarnessError(`${source} not found at ${src}`, 'run from a complete checkout');
  }
  const flags = ['-O2', '-Wall', '-static'];
  const cc = guestCc(arch);
  const { dir } = await cachedDir(name, hashOf(text, flags.join(' '), cc), async (tmp) => {
    const r = await execa(cc, [...flags, '-o', path.join(tmp, name), src], { reject: false, timeout: 120_000 });
    if (r.exitCode !== 0) {
      const pkg = cc === 'gcc' ? 'gcc libc6-dev (static libc: /usr/lib/x86_64-linux-gnu/libc.a)' : `${ARCHES[arch].crossPackage ?? cc} (its static libc comes with it)`;
      throw new HarnessError(`cannot build ${source} with ${cc} for ${arch}: ${String(r.stderr || r.shortMessage).split('\n').slice(0, 5).join(' | ')}`, `apt-get install ${pkg}; make vm-test installs it`);
    }
  });
  return path.join(dir, name);
}

/** The guest's command agent (vm/guest/agent.c), which vm/guest/init runs on the second serial port. */
export function buildAgent(repoRoot: string, arch: Arch = hostArch()): Promise<string> {
  return buildStatic(repoRoot, 'vm/guest/agent.c', 'refprobe-agent', arch);
}
