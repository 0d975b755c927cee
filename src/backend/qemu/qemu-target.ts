/**
 * The Target for a QEMU guest: boots it, waits for the agent on the command
 * channel (a virtio-serial port or ttyS1), and runs each command with its
 * own timeout. A guest that dies or stops
 * answering fails the pending command at once, never hangs it.
 *
 * With a QMP socket and the hotplug CPU layout (cpu-layout.ts) it also
 * declares the CpuHotplug capability (qemu-cpu-hotplug.ts).
 */
import net from 'node:net';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { QemuProcess, type QemuExit } from './qemu.js';
import { guestCpuLayout, qemuArgs, type GuestConfig } from './qemu-args.js';
import { QmpClient } from './qmp.js';
import { AgentChannel, AgentTarget } from '../agent/agent-channel.js';
import { QUIT } from '../agent/framing.js';
import { QemuCpuHotplug } from './qemu-cpu-hotplug.js';
import { TargetError, type Target } from '../target.js';

export interface QemuTargetOptions {
  guest: GuestConfig;
  consoleLog: string;
  bootTimeoutMs: number;
  defaultTimeoutMs: number;
  onConsoleLine: (line: string) => void;
}

export class QemuTarget extends AgentTarget implements Target {
  readonly description: string;
  private socket: net.Socket | null = null;
  private qmp: QmpClient | null = null;
  /** Set after boot when the guest's CPUs can really be plugged and unplugged. */
  cpuHotplug: QemuCpuHotplug | undefined = undefined;
  readonly cpuHotplugAbsent: string | undefined;

  private constructor(
    private readonly opts: QemuTargetOptions,
    private readonly server: net.Server,
    readonly qemu: QemuProcess,
  ) {
    super(opts.defaultTimeoutMs);
    const g = opts.guest;
    const layout = guestCpuLayout(g);
    this.cpuHotplugAbsent = layout.kind === 'hotplug' ? undefined : g.machine === 'virt' ? `QEMU 7.2's virt machine cannot hot-add or unplug a vCPU (${layout.reason})` : layout.reason;
    this.description = `qemu ${g.accel} ${g.machine}${g.presentAs === 'vmware' ? ' as VMware' : ''} smp=${g.cpus}, commands on ${g.channel === 'virtio' ? 'virtio-serial' : 'ttyS1'}`;
    void qemu.exited.then((exit) => this.channel.fail(new TargetError('guest-died', describeExit(exit))));
  }

  private static listen(socket: string): Promise<net.Server> {
    const server = net.createServer();
    return new Promise<net.Server>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve(server));
    });
  }

  static async boot(opts: QemuTargetOptions): Promise<QemuTarget> {
    const server = await QemuTarget.listen(opts.guest.channelSocket);
    const qemu = new QemuProcess(opts.guest.qemu, qemuArgs(opts.guest), opts.consoleLog, opts.onConsoleLine);
    const target = new QemuTarget(opts, server, qemu);
    server.on('connection', (s) => {
      target.socket = s;
      connect(s, target.channel);
    });
    try {
      await target.channel.waitReady(opts.bootTimeoutMs, 'the guest agent');
      await target.startCpuHotplug();
    } catch (e) {
      if (e instanceof TargetError && e.kind === 'boot-timeout') e.message += await target.snapshotHungBoot();
      await target.close();
      throw e;
    }
    return target;
  }

  /**
   * A boot that never reached the agent, booted quiet, may leave an empty
   * console: ask QEMU where the vCPUs are before stopping it, and keep that
   * next to the console log. Returns what to add to the error message.
   */
  private async snapshotHungBoot(): Promise<string> {
    const sock = this.opts.guest.qmpSocket;
    if (!sock) return '';
    const file = path.join(path.dirname(this.opts.consoleLog), 'qemu-state.txt');
    try {
      const qmp = await QmpClient.connect(sock, { timeoutMs: 5000 });
      try {
        const status = (await qmp.execute('query-status', undefined, 5000)) as { status?: string };
        const regs = String(await qmp.execute('human-monitor-command', { 'command-line': 'info registers -a' }, 10_000));
        await writeFile(file, `# QEMU at the boot timeout: query-status ${JSON.stringify(status)}\n# info registers -a\n${regs}`);
        // A CPU in 64-bit mode prints RIP, one still in real or protected mode (an AP not started) EIP.
        const ips = [...regs.matchAll(/^([ER]IP)=([0-9a-f]+)/gm)].map((m) => `${m[1]} ${m[2]}`).join(', ');
        return `; QEMU was ${status.status ?? '?'}, its vCPUs at ${ips || '?'}: ${file} (map an address with: addr2line -f -e vmlinux ADDRESS)`;
      } finally {
        qmp.close();
      }
    } catch (e) {
      return `; QEMU's state could not be read (${(e as Error).message.split('\n')[0]})`;
    }
  }

  /** Connects QMP and maps the CPUs, where the layout makes CPUs pluggable. */
  private async startCpuHotplug(): Promise<void> {
    const g = this.opts.guest;
    if (!g.qmpSocket || guestCpuLayout(g).kind !== 'hotplug') return;
    this.qmp = await QmpClient.connect(g.qmpSocket, { timeoutMs: 10_000 });
    this.cpuHotplug = await QemuCpuHotplug.create(this.qmp, (script) => this.run(script));
  }

  async settled(): Promise<void> {
    if (this.failure?.kind === 'guest-died') await this.qemu.exited;
  }

  /** Asks the agent to power off, then makes sure QEMU is gone. */
  async close(): Promise<void> {
    if (this.socket && !this.failure && this.qemu.running) this.socket.write(QUIT);
    const closed = new TargetError('closed', 'the target was closed');
    this.channel.fail(closed);
    await this.qemu.stop(this.failure?.kind === 'closed' ? 10_000 : 1000);
    this.qmp?.close();
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.opts.guest.channelSocket, { force: true });
    if (this.opts.guest.qmpSocket) await rm(this.opts.guest.qmpSocket, { force: true });
  }
}

/** QEMU's end of a channel socket to the agent's channel: bytes in, request lines out. */
export function connect(socket: net.Socket, channel: AgentChannel): void {
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => channel.push(chunk));
  socket.on('error', () => undefined);
  channel.attach((line) => socket.write(line));
}

export function describeExit(exit: QemuExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `QEMU exited with status ${exit.exitCode}`;
  const err = exit.stderr.trim();
  return err ? `${how}: ${err.split('\n').slice(-3).join(' | ')}` : how;
}

