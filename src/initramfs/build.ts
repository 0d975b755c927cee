/**
 * Packs the guest: busybox-static, the guest init (vm/init), the command
 * agent it runs (vm/agent.sh, beside it) and the module,
 * as a gzipped newc cpio. Cached by content: rebuilt only when an input changes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { cachedDir, hashOf } from '../cache.js';
import { HarnessError } from '../errors.js';
import { writeCpio, type CpioEntry } from './cpio.js';

export interface InitramfsInputs {
  busybox: string;
  init: string;
  module: string;
}

export interface Initramfs {
  path: string;
  cached: boolean;
  bytes: number;
}

/** The guest's paths, shared with vm/init and the target. */
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

/** vm/init sources the agent from here. */
export const GUEST_AGENT_PATH = '/agent.sh';

/** The agent's file: next to the init (vm/agent.sh beside vm/init). */
export function agentBeside(init: string): string {
  return path.join(path.dirname(init), 'agent.sh');
}

export function initramfsEntries(busybox: Buffer, init: Buffer, agent: Buffer, module: Buffer): CpioEntry[] {
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
    { type: 'file', path: GUEST_AGENT_PATH.slice(1), data: agent, mode: 0o644 },
    { type: 'file', path: GUEST_MODULE_PATH.slice(1), data: module, mode: 0o644 },
  ];
}

export async function buildInitramfs(inputs: InitramfsInputs): Promise<Initramfs> {
  const busybox = await readInput(inputs.busybox, 'busybox', 'apt-get install busybox-static (make vm-test does it), or pass --busybox PATH to a static busybox');
  if (hasInterpreter(busybox)) {
    throw new HarnessError(`${inputs.busybox} is dynamically linked: it cannot run in the bare guest`, 'apt-get install busybox-static');
  }
  const init = await readInput(inputs.init, 'the guest init', 'run from a complete checkout (vm/init is part of it)');
  const agent = await readInput(agentBeside(inputs.init), 'the command agent', 'run from a complete checkout (vm/agent.sh is part of it)');
  const module = await readInput(inputs.module, 'the built module', 'rebuild it (the harness builds it before packing)');
  const key = hashOf(busybox, init, agent, module);
  const { dir, hit } = await cachedDir('initramfs', key, async (tmp) => {
    const cpio = writeCpio(initramfsEntries(busybox, init, agent, module));
    await writeFile(path.join(tmp, 'initramfs.cpio.gz'), gzipSync(cpio, { level: 1 }));
  });
  const file = path.join(dir, 'initramfs.cpio.gz');
  return { path: file, cached: hit, bytes: (await readFile(file)).length };
}
