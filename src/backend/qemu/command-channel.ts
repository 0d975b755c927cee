/**
 * Which device carries the command channel between the harness and the
 * guest agent: a virtio-serial port where the kernel can drive one, the
 * second ISA serial port (ttyS1) otherwise.
 *
 * Why it matters: under TCG the 16550 costs an interrupt every 8 bytes in
 * and every 16 bytes out, and an emulated I/O-port write per byte; a
 * scenario step (a ctl write and a devices read, ~200 bytes) spent most of
 * its ~4 ms there. virtio-serial hands each message over as one buffer.
 *
 * The stock Debian kernel has virtio-console as modules (virtio_console and
 * what it needs, in modules.dep order): they are packed into the initramfs
 * and vm/guest/init loads them. A kernel with it built in needs nothing; a kernel
 * without it, or the microvm machine (whose virtio-mmio devices the stock
 * kernel does not find), keeps the serial port. Pure except readKernelChannel.
 */
import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseKconfig, type KconfigOptions } from '../../kernel/config.js';
import type { Machine } from './machine.js';
import { HarnessError } from '../../errors.js';
import type { ChannelModule } from '../../initramfs/build.js';

export type ChannelKind = 'virtio' | 'serial';

/** The modules to load, in order, as paths relative to /lib/modules/<release>. */
export type ChannelPlan = { kind: 'virtio'; modules: string[]; why: string } | { kind: 'serial'; why: string };

/** What the modules need before them, from modules.dep ("kernel/a.ko: kernel/b.ko kernel/c.ko"). */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    deps.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim().split(/\s+/).filter(Boolean));
  }
  return deps;
}

/** Module paths so that every module comes after what it depends on. */
export function loadOrder(target: string, deps: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  const visit = (m: string, trail: readonly string[]): void => {
    if (out.includes(m)) return;
    if (trail.includes(m)) throw new Error(`modules.dep has a cycle: ${[...trail, m].join(' -> ')}`);
    for (const d of deps.get(m) ?? []) visit(d, [...trail, m]);
    out.push(m);
  };
  visit(target, []);
  return out;
}

/** The module's path in modules.dep; plain or xz (what readModule can unpack), else none. */
function moduleFor(deps: ReadonlyMap<string, readonly string[]>, name: string): string | undefined {
  return [...deps.keys()].find((k) => new RegExp(`(^|/)${name}\\.ko(\\.xz)?$`).test(k));
}

/**
 * The channel for a kernel of this config on this machine. deps: its
 * modules.dep, or null when it has none installed.
 */
export function planChannel(config: KconfigOptions | null, deps: ReadonlyMap<string, readonly string[]> | null, machine: Machine): ChannelPlan {
  if (machine === 'virt') return virtChannel(config);
  if (machine !== 'pc') return { kind: 'serial', why: `the ${machine} machine: its virtio devices are virtio-mmio, which the guest may not find` };
  if (!config) return { kind: 'serial', why: 'the kernel config is not known (no .config in its kbuild tree)' };
  const console = config.get('CONFIG_VIRTIO_CONSOLE') ?? 'n';
  const pci = config.get('CONFIG_VIRTIO_PCI') ?? 'n';
  if (console === 'n' || pci === 'n') return { kind: 'serial', why: `the kernel has no virtio-serial over PCI (CONFIG_VIRTIO_CONSOLE=${console}, CONFIG_VIRTIO_PCI=${pci})` };
  if (console === 'y' && pci === 'y') return { kind: 'virtio', modules: [], why: 'virtio-serial built into the kernel' };
  const wanted = [pci === 'm' ? 'virtio_pci' : null, console === 'm' ? 'virtio_console' : null].filter((m): m is string => m !== null);
  const found = deps ? wanted.map((m) => moduleFor(deps, m)) : [];
  if (!deps || found.some((m) => m === undefined)) return { kind: 'serial', why: `${wanted.join(' and ')} ${wanted.length > 1 ? 'are modules' : 'is a module'} not installed for this kernel` };
  const modules: string[] = [];
  for (const m of found as string[]) for (const x of loadOrder(m, deps)) if (!modules.includes(x)) modules.push(x);
  return { kind: 'virtio', modules, why: `virtio-serial from ${modules.length} modules (${modules.map((m) => path.basename(m)).join(', ')})` };
}

/** virt has no second serial port: virtio-serial over its PCI host bridge, built in, or no channel at all. */
function virtChannel(config: KconfigOptions | null): ChannelPlan {
  const need = ['CONFIG_VIRTIO_CONSOLE', 'CONFIG_VIRTIO_PCI', 'CONFIG_PCI_HOST_GENERIC'];
  const missing = config ? need.filter((o) => config.get(o) !== 'y') : need;
  if (missing.length) {
    throw new HarnessError(
      `the arm64 kernel cannot carry the command channel: virt's one serial port is the console, and ${config ? `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not built in` : 'its .config is not known'}`,
      `build the kernel with ${need.map((o) => `${o}=y`).join(' ')} (vm/kernel-config/base-arm64.config has them)`,
    );
  }
  return { kind: 'virtio', modules: [], why: "virtio-serial built into the kernel, on virt's PCI host bridge (its one serial port is the console)" };
}

export interface KernelChannel {
  plan: ChannelPlan;
  /** The plan's modules, in load order (decompressed). */
  modules: ChannelModule[];
}

async function sameDir(a: string, b: string): Promise<boolean> {
  try {
    return (await realpath(a)) === (await realpath(b));
  } catch {
    return false;
  }
}

async function readModule(file: string): Promise<Buffer> {
  if (!file.endsWith('.xz')) return readFile(file);
  const r = await execa('xz', ['-dc', file], { encoding: 'buffer', timeout: 60_000 });
  return Buffer.from(r.stdout);
}

/**
 * The channel for an installed or built kernel: its .config from the kbuild
 * tree, its modules from /lib/modules/<release>, or from modulesDir where
 * the kernel has its own (a Debian kernel unpacked into the cache).
 */
export async function readKernelChannel(release: string, kdir: string, machine: Machine, modulesDir?: string): Promise<KernelChannel> {
  const configFile = [path.join(kdir, '.config'), `/boot/config-${release}`].find((f) => existsSync(f));
  const config = configFile ? parseKconfig(await readFile(configFile, 'utf8')) : null;
  const modDir = modulesDir ?? path.join('/lib/modules', release);
  const depFile = path.join(modDir, 'modules.dep');
  // Installed modules belong to the installed kernel: a tree built elsewhere with the same release string would not take them.
  const installed = modulesDir !== undefined || (await sameDir(kdir, path.join(modDir, 'build')));
  const deps = installed && existsSync(depFile) ? parseModulesDep(await readFile(depFile, 'utf8')) : null;
  const plan = planChannel(config, deps, machine);
  if (plan.kind === 'serial') return { plan, modules: [] };
  try {
    const data = await Promise.all(plan.modules.map((m) => readModule(path.join(modDir, m))));
    return { plan, modules: plan.modules.map((m, i) => ({ name: path.basename(m).replace(/\.ko.*$/, '.ko'), data: data[i] as Buffer })) };
  } catch (e) {
    return { plan: { kind: 'serial', why: `cannot read the virtio modules: ${(e as Error).message}` }, modules: [] };
  }
}
