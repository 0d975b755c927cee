/**
 * Packs the guest: busybox-static, the guest init (vm/guest/init), the command
 * agent it runs (vm/guest/agent.c, built static: initramfs/static-program.ts) and
 * the module,
 * as a gzipped newc cpio. Cached by content: rebuilt only when an input changes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { cachedDir, hashOf } from '../cache/cache.js';
import { HarnessError } from '../errors.js';
import { writeCpio, type CpioEntry } from './cpio.js';

export interface InitramfsInputs {
  busybox: string;
  init: string;
  /** The built agent (buildAgent). */
  agent: string;
  module: string;
  /** Modules vm/guest/init loads before the agent starts (the virtio-serial channel's), in order. */
  channelModules?: readonly ChannelModule[];
}

export interface Initramfs {
  path: string;
  cached: boolean;
  bytes: number;
}

/** The guest's paths, shared with vm/guest/init and the target. */
export const GUEST_MODULE_PATH = '/lib/refprobe.ko';

async function readInput(file: string, what: string, fix: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch {
    throw new HarnessError(`${what} not found at ${file}`, fix);
  }
}

/** True for an ELF64 executable that names a dynamic loader (a PT_INTERP program header). */
export function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 <= elf.length && elf.readUInt32LE(off) === 3) return true;
  }
  return false;
}

/** vm/guest/init runs the agent from here. */
export const GUEST_AGENT_PATH = '/bin/refprobe-agent';

/** vm/guest/init loads the .ko files here, in name order, before it starts the agent. */
export const GUEST_CHANNEL_MODULES_DIR = '/lib/chan';

/** A kernel module the guest init loads before the agent starts (the command channel's: backend/qemu/command-channel.ts). */
export interface ChannelModule {
  name: string;
  data: Buffer;
}

export function initramfsEntries(busybox: Buffer, init: Buffer, agent: Buffer, module: Buffer, channelModules: readonly ChannelModule[] = []): CpioEntry[] {
  const chan: CpioEntry[] = channelModules.length === 0 ? [] : [
    { type: 'dir', path: GUEST_CHANNEL_MODULES_DIR.slice(1) },
    ...channelModules.map((m, i): CpioEntry => ({ type: 'file', path: `${GUEST_CHANNEL_MODULES_DIR.slice(1)}/${String(i).padStart(2, '0')}-${m.name}`, data: m.data, mode: 0o644 })),
  ];
  return [
    { type: 'dir', path: 'bin' },
    { type: 'dir', path: 'dev' },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { type: 'dir', path: 'lib' },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'file', path: 'init', data: init, mode: 0o755 },
    { type: 'file', path: GUEST_AGENT_PATH.slice(1), data: agent, mode: 0o755 },
    { type: 'file', path: GUEST_MODULE_PATH.slice(1), data: module, mode: 0o644 },
    ...chan,
  ];
}

export async function buildInitramfs(inputs: InitramfsInputs): Promise<Initramfs> {
  const busybox = await readInput(inputs.busybox, 'busybox', 'apt-get install busybox-static (make vm-test does it), or pass --busybox PATH to a static busybox');
  if (hasInterpreter(busybox)) {
    throw new HarnessError(`${inputs.busybox} is dynamically linked: it cannot run in the bare guest`, 'apt-get install busybox-static');
  }
  const init = await readInput(inputs.init, 'the guest init', 'run from a complete checkout (vm/guest/init is part of it)');
  const agent = await readInput(inputs.agent, 'the command agent', 'rebuild it (the harness builds vm/guest/agent.c before packing)');
  if (hasInterpreter(agent)) throw new HarnessError(`${inputs.agent} is dynamically linked: it cannot run in the bare guest`, 'build it with -static (initramfs/static-program.ts does)');
  const module = await readInput(inputs.module, 'the built module', 'rebuild it (the harness builds it before packing)');
  const chan = inputs.channelModules ?? [];
  const key = hashOf(busybox, init, agent, module, ...chan.flatMap((m) => [m.name, m.data]));
  const { dir, hit } = await cachedDir('initramfs', key, async (tmp) => {
    const cpio = writeCpio(initramfsEntries(busybox, init, agent, module, chan));
    await writeFile(path.join(tmp, 'initramfs.cpio.gz'), gzipSync(cpio, { level: 1 }));
  });
  const file = path.join(dir, 'initramfs.cpio.gz');
  return { path: file, cached: hit, bytes: (await readFile(file)).length };
}
