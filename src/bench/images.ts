/**
 * What the benchmark's guests boot besides the kernel: the bench initramfs
 * (the vm-test guest plus the flood program and the dummy driver) and the
 * floor's initramfs (busybox and an init that only powers off). Both are
 * cached by content, like the vm-test initramfs.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { cachedDir, hashOf } from '../cache/cache.js';
import { writeCpio, type CpioEntry } from '../initramfs/cpio.js';
import { initramfsEntries, type Initramfs } from '../initramfs/build.js';
import { buildStatic } from '../initramfs/static-program.js';
import type { ChannelModule } from '../initramfs/build.js';

export const GUEST_FLOOD_PATH = '/lib/flood';
export const GUEST_DUMMY_PATH = '/lib/dummy.ko';

/** vm/guest/flood.c, static (the guest has no libc). */
export function buildFlood(repoRoot: string): Promise<string> {
  return buildStatic(repoRoot, 'vm/guest/flood.c', 'flood');
}

/**
 * The kernel's dummy driver, which the flood sends through (it frees every
 * packet, so the cost is the stack's). Null when the kernel has none as a
 * module (built in, or not built: the guest then checks for dummy0 itself).
 */
export async function findDummyModule(release: string, kdir: string): Promise<Buffer | null> {
  const candidates = [
    path.join('/lib/modules', release, 'kernel/drivers/net/dummy.ko'),
    path.join(kdir, 'drivers/net/dummy.ko'),
    path.join(path.dirname(kdir), 'kernel/drivers/net/dummy.ko'),
  ];
  for (const c of candidates) {
    if (existsSync(c)) return readFile(c);
    if (existsSync(`${c}.xz`)) {
      const r = await execa('xz', ['-dc', `${c}.xz`], { encoding: 'buffer', reject: false, timeout: 60_000 });
      if (r.exitCode === 0) return Buffer.from(r.stdout);
    }
  }
  return null;
}

async function packed(kind: string, entries: CpioEntry[], key: string): Promise<Initramfs> {
  const { dir, hit } = await cachedDir(kind, key, async (tmp) => {
    await writeFile(path.join(tmp, 'initramfs.cpio.gz'), gzipSync(writeCpio(entries), { level: 1 }));
  });
  const file = path.join(dir, 'initramfs.cpio.gz');
  return { path: file, cached: hit, bytes: (await readFile(file)).length };
}

export async function buildBenchInitramfs(inputs: { busybox: string; init: string; agent: string; module: string; channelModules: readonly ChannelModule[]; flood: string; dummy: Buffer | null }): Promise<Initramfs> {
  const [busybox, init, agent, module, flood] = await Promise.all([
    readFile(inputs.busybox),
    readFile(inputs.init),
    readFile(inputs.agent),
    readFile(inputs.module),
    readFile(inputs.flood),
  ]);
  const entries: CpioEntry[] = [
    ...initramfsEntries(busybox, init, agent, module, inputs.channelModules),
    { type: 'file', path: GUEST_FLOOD_PATH.slice(1), data: flood, mode: 0o755 },
    ...(inputs.dummy ? [{ type: 'file' as const, path: GUEST_DUMMY_PATH.slice(1), data: inputs.dummy, mode: 0o644 }] : []),
  ];
  return packed('bench-initramfs', entries, hashOf(busybox, init, agent, module, flood, inputs.dummy ?? '', ...inputs.channelModules.flatMap((m) => [m.name, m.data])));
}

/** The floor's init: nothing but power off, so its boot is what any run must pay. */
export const FLOOR_INIT = '#!/bin/busybox sh\n/bin/busybox poweroff -f\n';

export async function buildFloorInitramfs(busyboxPath: string): Promise<Initramfs> {
  const busybox = await readFile(busyboxPath);
  const init = Buffer.from(FLOOR_INIT);
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'dir', path: 'dev' },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'file', path: 'init', data: init, mode: 0o755 },
  ];
  return packed('floor-initramfs', entries, hashOf(busybox, init));
}
