/**
 * The benchmark's second command channel: with a virtio-serial channel, the
 * guest init also starts an agent on ttyS1 (refprobe.serial=1), and QEMU
 * connects that port to a unix socket this listens on. The benchmark times
 * a scenario step over both; nothing else uses it.
 */
import net from 'node:net';
import { rm } from 'node:fs/promises';
import { AgentChannel } from '../backend/agent/agent-channel.js';
import { connect } from '../backend/qemu/qemu-target.js';
import { TargetError } from '../backend/target.js';

export class SerialAgent {
  readonly channel: AgentChannel;
  private socket: net.Socket | null = null;

  private constructor(
    private readonly server: net.Server,
    readonly path: string,
    timeoutMs: number,
  ) {
    this.channel = new AgentChannel(timeoutMs);
    server.on('connection', (s) => {
      this.socket = s;
      connect(s, this.channel);
      s.on('close', () => this.channel.fail(new TargetError('connection-lost', "the ttyS1 agent's socket closed")));
    });
  }

  /** Listens before QEMU starts (QEMU connects as the client). */
  static async listen(path: string, timeoutMs: number): Promise<SerialAgent> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return new SerialAgent(server, path, timeoutMs);
  }

  /** A guest that dies fails the channel at once with why (QEMU's exit), not only as a closed socket. */
  failWith(died: Promise<TargetError>): void {
    void died.then((e) => this.channel.fail(e));
  }

  /** The agent on ttyS1 once the guest is up, or null when it did not start one within 5 s (a guest without it is still a guest). */
  async ready(): Promise<AgentChannel | null> {
    return this.channel.waitReady(5000, 'the guest agent on ttyS1').then(
      () => this.channel,
      () => {
        this.channel.fail(new TargetError('boot-timeout', 'no agent on ttyS1'));
        return null;
      },
    );
  }

  async close(): Promise<void> {
    this.channel.fail(new TargetError('closed', 'the benchmark is done with ttyS1'));
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}
