/**
 * Real CPU hot-unplug and hot-add on a QEMU guest, through QMP: the QEMU
 * backend's CpuHotplug capability (target.ts). Needs the hotplug CPU layout
 * (cpu-layout.ts): the CPUs it removes are those QEMU created with -device
 * (or device_add), and only sockets the layout left empty are filled.
 *
 * Which guest CPU number a QEMU socket is, is read, not assumed: QMP
 * query-hotpluggable-cpus names each socket's CPU object (its QOM path, under
 * /machine/peripheral/ for a -device), and the guest's sysfs gives each of its
 * CPUs' physical_package_id, which is the socket id when every socket holds one
 * core of one thread. A CPU added later is the one that appears in the present
 * mask (Linux gives it the next unused number).
 *
 * What QEMU 7.2 (TCG, stock Debian 6.1 guest) did here:
 *  - device_del of a -device CPU: events ACPI_DEVICE_OST (status 0x84, eject
 *    in progress), DEVICE_DELETED for the CPU's child only (path
 *    /machine/peripheral/cpu1/lapic, no "device" field: none came for the CPU
 *    itself), ACPI_DEVICE_OST (status 0); the guest offlined the CPU itself
 *    and it left the present mask; possible did not change.
 *  - device_add of an empty socket: ACPI_DEVICE_OST (source 1, status 0); the
 *    CPU joins the present mask offline ("CPU2 has been hot-added").
 *  - device_add after a device_del in the same QEMU killed QEMU every time (3
 *    of 3: SIGSEGV once, "malloc(): unsorted double linked list corrupted"
 *    twice), even for a socket never used before and 15 s after the unplug;
 *    device_del after device_add, and several device_del, were fine. So plug()
 *    refuses once anything was unplugged, and uses only sockets never used in
 *    this boot.
 */
import { HarnessError } from '../../errors.js';
import { formatCpuList, parseCpuList } from '../../model/cpumask.js';
import { cpuDeviceId } from './cpu-layout.js';
import type { QmpClient } from './qmp.js';
import type { CpuHotplug, RunResult } from '../target.js';

/** One CPU slot QEMU's machine has, filled or not (query-hotpluggable-cpus). */
export interface CpuSlot {
  socket: number;
  core: number;
  thread: number;
  /** The QOM type of a CPU in this slot ("max-x86_64-cpu"). */
  type: string;
  /** The CPU object, when the slot is filled. */
  qomPath: string | null;
}

/** The guest's view: its CPU masks and each present CPU's package id (null when sysfs does not show it). */
export interface GuestCpus {
  possible: number[];
  present: number[];
  packages: Map<number, number | null>;
}

export interface CpuMap {
  /** Guest CPU -> the -device slot backing it: these can be unplugged. */
  devices: Map<number, CpuSlot>;
  /** Sockets with no CPU: device_add can fill them. */
  freeSockets: number[];
}

/** A CPU QEMU created with -device or device_add: its QOM path is under /machine/peripheral(-anon)/. */
export function isDeviceCpu(slot: CpuSlot): boolean {
  return slot.qomPath !== null && /^\/machine\/peripheral(-anon)?\//.test(slot.qomPath);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** query-hotpluggable-cpus' reply. Throws naming the entry it did not understand. */
export function parseHotpluggableCpus(value: unknown): CpuSlot[] {
  if (!Array.isArray(value)) throw new Error(`query-hotpluggable-cpus: expected a list, got ${JSON.stringify(value)}`);
  return value.map((entry: unknown) => {
    const props = isRecord(entry) ? entry.props : undefined;
    if (!isRecord(entry) || !isRecord(props) || typeof entry.type !== 'string') {
      throw new Error(`query-hotpluggable-cpus: entry without type or props: ${JSON.stringify(entry)}`);
    }
    const id = (k: string): number => (typeof props[k] === 'number' ? props[k] : 0);
    if (typeof props['socket-id'] !== 'number') throw new Error(`query-hotpluggable-cpus: entry without socket-id: ${JSON.stringify(entry)}`);
    return {
      socket: id('socket-id'),
      core: id('core-id'),
      thread: id('thread-id'),
      type: entry.type,
      qomPath: typeof entry['qom-path'] === 'string' ? entry['qom-path'] : null,
    };
  });
}

/** The guest script whose output parseGuestCpus reads. */
export const GUEST_CPUS_SCRIPT = [
  'cd /sys/devices/system/cpu || exit 1',
  'echo "possible $(cat possible)"',
  'echo "present $(cat present)"',
  // An offline CPU has no topology directory: "-".
  'for c in cpu[0-9]*; do echo "$c $(cat $c/topology/physical_package_id 2>/dev/null || echo -)"; done',
].join('\n');

export function parseGuestCpus(text: string): GuestCpus {
  const out: GuestCpus = { possible: [], present: [], packages: new Map() };
  for (const line of text.split('\n')) {
    const [key, value = ''] = line.trim().split(/\s+/);
    if (!key) continue;
    if (key === 'possible') out.possible = parseCpuList(value);
    else if (key === 'present') out.present = parseCpuList(value);
    else {
      const m = /^cpu(\d+)$/.exec(key);
      if (!m || !/^(\d+|-)$/.test(value)) throw new Error(`guest CPU list: cannot read "${line}"`);
      out.packages.set(Number(m[1]), value === '-' ? null : Number(value));
    }
  }
  return out;
}

/**
 * Which guest CPU each -device slot is. A slot is matched to the one present
 * guest CPU whose package id is its socket; needs one core of one thread per
 * socket (the hotplug layout), and says so when the machine has more.
 */
export function mapCpus(slots: readonly CpuSlot[], guest: GuestCpus): CpuMap {
  const wide = slots.find((s) => s.core !== 0 || s.thread !== 0);
  if (wide) {
    throw new Error(`socket ${wide.socket} has core ${wide.core} thread ${wide.thread}: CPU hotplug here needs one core of one thread per socket (cores=1,threads=1)`);
  }
  const devices = new Map<number, CpuSlot>();
  for (const slot of slots.filter(isDeviceCpu)) {
    const cpus = guest.present.filter((c) => guest.packages.get(c) === slot.socket);
    if (cpus.length > 1) throw new Error(`guest CPUs ${cpus.join(',')} all claim package ${slot.socket}`);
    const cpu = cpus[0];
    // An offline CPU shows no package id: it is left out (not unpluggable) rather than guessed.
    if (cpu !== undefined) devices.set(cpu, slot);
  }
  const freeSockets = slots.filter((s) => s.qomPath === null).map((s) => s.socket).sort((a, b) => a - b);
  return { devices, freeSockets };
}

export interface CpuHotplugTimeouts {
  /** For each QMP command's reply. */
  commandMs: number;
  /** For QEMU's DEVICE_DELETED after device_del (the guest must eject the CPU first). */
  eventMs: number;
  /** For the guest's present mask to show the change. */
  presentMs: number;
}

export const DEFAULT_CPU_HOTPLUG_TIMEOUTS: CpuHotplugTimeouts = { commandMs: 10_000, eventMs: 30_000, presentMs: 30_000 };

type Run = (script: string) => Promise<RunResult>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class QemuCpuHotplug implements CpuHotplug {
  /** Every socket that held a CPU in this boot, now or before: never filled again. */
  private readonly usedSockets: Set<number>;
  private readonly devices: Map<number, CpuSlot>;
  private readonly freeSockets: number[];
  private readonly unplugged: number[] = [];

  private constructor(
    private readonly qmp: QmpClient,
    private readonly run: Run,
    slots: readonly CpuSlot[],
    map: CpuMap,
    private readonly cpuType: string,
    private readonly timeouts: CpuHotplugTimeouts,
  ) {
    this.usedSockets = new Set(slots.filter((s) => s.qomPath !== null).map((s) => s.socket));
    this.devices = map.devices;
    this.freeSockets = map.freeSockets;
  }

  /** Reads QEMU's slots and the guest's CPUs once, and maps one onto the other. */
  static async create(qmp: QmpClient, run: Run, timeouts: CpuHotplugTimeouts = DEFAULT_CPU_HOTPLUG_TIMEOUTS): Promise<QemuCpuHotplug> {
    const slots = parseHotpluggableCpus(await qmp.execute('query-hotpluggable-cpus', undefined, timeouts.commandMs));
    const r = await run(GUEST_CPUS_SCRIPT);
    if (r.exitCode !== 0) throw new Error(`cannot read the guest's CPUs: ${r.stderr.trim()}`);
    const map = mapCpus(slots, parseGuestCpus(r.stdout));
    // device_add must name the type the machine's CPUs have (max-x86_64-cpu under TCG, host-x86_64-cpu under KVM).
    const type = slots[0]?.type;
    if (!type) throw new Error('query-hotpluggable-cpus listed no CPU slot');
    return new QemuCpuHotplug(qmp, run, slots, map, type, timeouts);
  }

  unpluggable(): number[] {
    return [...this.devices.keys()].sort((a, b) => a - b);
  }

  cannotPlug(): string | null {
    if (this.unplugged.length > 0) {
      return `CPU ${this.unplugged.join(',')} was unplugged in this boot, and QEMU 7.2 crashed on every device_add after a device_del: plug before unplugging`;
    }
    if (this.freeSockets.length === 0) return 'no empty CPU socket (boot with more possible CPUs than online ones)';
    return null;
  }

  async unplug(cpu: number): Promise<void> {
    const slot = this.devices.get(cpu);
    if (!slot?.qomPath) {
      throw new HarnessError(
        `CPU ${cpu} cannot be unplugged: it is not backed by a QEMU -device (unpluggable: ${formatCpuList(this.unpluggable()) || 'none'})`,
        'unplug one of the unpluggable CPUs; the boot CPU and CPUs made by -smp N stay',
      );
    }
    const path = slot.qomPath;
    const since = this.qmp.events.length;
    // device_del takes a QOM path as well as an id: no need to know how the CPU was named.
    await this.qmp.execute('device_del', { id: path }, this.timeouts.commandMs);
    // QEMU 7.2 reports the CPU's child (PATH/lapic), never the CPU itself: match both.
    await this.qmp.waitEvent('DEVICE_DELETED', (e) => e.data.path === path || String(e.data.path).startsWith(`${path}/`), this.timeouts.eventMs, since);
    this.devices.delete(cpu);
    this.unplugged.push(cpu);
    await this.waitPresent((present) => !present.includes(cpu), `CPU ${cpu} to leave the present mask after QEMU deleted it`);
  }

  async plug(): Promise<number> {
    const why = this.cannotPlug();
    if (why) throw new HarnessError(`cannot plug a CPU: ${why}`, 'plug CPUs before any unplug in a boot, and boot with --possible-cpus above --smp');
    const socket = this.freeSockets.shift();
    if (socket === undefined || this.usedSockets.has(socket)) throw new Error(`internal: socket ${socket} is not free`);
    this.usedSockets.add(socket);
    const before = await this.present();
    const id = cpuDeviceId(socket);
    await this.qmp.execute('device_add', { driver: this.cpuType, 'socket-id': socket, 'core-id': 0, 'thread-id': 0, id }, this.timeouts.commandMs);
    const after = await this.waitPresent((p) => p.some((c) => !before.includes(c)), `a new CPU in the present mask after device_add of socket ${socket}`);
    const added = after.filter((c) => !before.includes(c));
    const cpu = added[0];
    if (added.length !== 1 || cpu === undefined) throw new Error(`device_add of socket ${socket} made ${added.length} CPUs present (${formatCpuList(added)})`);
    this.devices.set(cpu, { socket, core: 0, thread: 0, type: this.cpuType, qomPath: `/machine/peripheral/${id}` });
    return cpu;
  }

  private async present(): Promise<number[]> {
    const r = await this.run('cat /sys/devices/system/cpu/present');
    if (r.exitCode !== 0) throw new Error(`cannot read the guest's present mask: ${r.stderr.trim()}`);
    return parseCpuList(r.stdout);
  }

  /** Polls the present mask until `done` holds; the last mask read. */
  private async waitPresent(done: (present: number[]) => boolean, what: string): Promise<number[]> {
    const start = Date.now();
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      const present = await this.present();
      if (done(present)) return present;
      if (Date.now() - start > this.timeouts.presentMs) {
        throw new HarnessError(
          `waited ${this.timeouts.presentMs / 1000} s for ${what}: present is still ${formatCpuList(present)}`,
          'look at the guest console for ACPI or CPU hotplug errors; a kernel without CONFIG_HOTPLUG_CPU or ACPI cannot do it',
        );
      }
      await sleep(delay);
    }
  }
}
