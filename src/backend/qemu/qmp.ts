/**
 * A small QMP client: connects to the monitor socket QEMU serves
 * (`-qmp unix:SOCK,server=on,wait=off`, SOCK in the harness's own temporary
 * directory), negotiates capabilities, runs one command at a time with its own
 * timeout, and keeps every event QEMU sends so a caller can wait for one that
 * may already have arrived (DEVICE_DELETED can beat device_del's reply).
 * The wire format is in qmp-protocol.ts.
 */
import net from 'node:net';
import { HarnessError } from '../../errors.js';
import { encodeCommand, QmpDecoder, type QmpEvent, type QmpMessage } from './qmp-protocol.js';

export type { QmpEvent } from './qmp-protocol.js';

/** QEMU refused a command: its error class and description, verbatim. */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.name = 'QmpCommandError';
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface EventWaiter {
  matches: (e: QmpEvent) => boolean;
  resolve: (e: QmpEvent) => void;
  reject: (e: Error) => void;
}

export interface QmpConnectOptions {
  /** For the connection, the greeting and qmp_capabilities together. */
  timeoutMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class QmpClient {
  /** Every event since the connection, oldest first. */
  readonly events: QmpEvent[] = [];
  /** QEMU's version from the greeting ("7.2.22"). */
  version = 'unknown';
  private readonly decoder = new QmpDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly eventWaiters = new Set<EventWaiter>();
  private greeted: (() => void) | null = null;
  private nextId = 1;
  private closedBecause: string | null = null;

  private constructor(
    private readonly socket: net.Socket,
    private readonly socketPath: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      for (const m of this.decoder.push(chunk)) this.dispatch(m);
    });
    // Once connected, an error is the connection going (ECONNRESET when QEMU dies).
    socket.on('error', (e) => this.shut(`the QMP connection to QEMU was lost (${e.message}): did QEMU exit? see its console log`));
    socket.on('close', () => this.shut('the QMP connection to QEMU was lost: did QEMU exit? see its console log'));
  }

  /**
   * Connects and negotiates. QEMU creates the socket as it starts, so a
   * missing or refusing socket is retried until the timeout.
   */
  static async connect(socketPath: string, opts: QmpConnectOptions): Promise<QmpClient> {
    const deadline = Date.now() + opts.timeoutMs;
    let socket: net.Socket | null = null;
    let lastError = '';
    while (!socket) {
      try {
        socket = await connectOnce(socketPath);
      } catch (e) {
        lastError = (e as Error).message;
        if (Date.now() >= deadline) {
          throw new HarnessError(
            `cannot connect to QEMU's QMP socket ${socketPath} within ${opts.timeoutMs} ms: ${lastError}`,
            'QEMU must run with -qmp unix:SOCK,server=on,wait=off; check that it is still running',
          );
        }
        await sleep(50);
      }
    }
    const client = new QmpClient(socket, socketPath);
    try {
      await client.handshake(Math.max(1, deadline - Date.now()));
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  private async handshake(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greeted = null;
        reject(new HarnessError(`no QMP greeting from ${this.socketPath} within ${timeoutMs} ms`, 'is another client connected to it? QMP serves one at a time'));
      }, timeoutMs);
      this.greeted = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    await this.execute('qmp_capabilities', undefined, timeoutMs);
  }

  private dispatch(m: QmpMessage): void {
    switch (m.kind) {
      case 'greeting':
        this.version = m.version;
        this.greeted?.();
        this.greeted = null;
        return;
      case 'event':
        this.events.push(m.event);
        for (const w of this.eventWaiters) if (w.matches(m.event)) w.resolve(m.event);
        return;
      case 'return':
      case 'error': {
        const p = m.id === null ? undefined : this.pending.get(m.id);
        if (!p || m.id === null) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.kind === 'return') p.resolve(m.value);
        else p.reject(new QmpCommandError(p.command, m.errorClass, m.desc));
        return;
      }
      case 'garbage':
        // QEMU speaks only JSON here; a stray line is not worth failing a command for.
        return;
    }
  }

  /** Runs one command; its result, or a QmpCommandError with QEMU's words. */
  execute(command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
    if (this.closedBecause) return Promise.reject(new Error(`QMP ${command}: ${this.closedBecause}`));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HarnessError(`QMP ${command}: no reply from QEMU within ${timeoutMs} ms`, 'QEMU is hung or busy; look at its console log, and raise the timeout if the host is loaded'));
      }, timeoutMs);
      this.pending.set(id, { command, resolve, reject, timer });
      this.socket.write(encodeCommand(id, command, args));
    });
  }

  /**
   * The first event named `name` that satisfies `matches`, among those
   * already received from index `since` on and those still to come.
   */
  waitEvent(name: string, matches: (e: QmpEvent) => boolean, timeoutMs: number, since = 0): Promise<QmpEvent> {
    const test = (e: QmpEvent): boolean => e.name === name && matches(e);
    const seen = this.events.slice(since).find(test);
    if (seen) return Promise.resolve(seen);
    if (this.closedBecause) return Promise.reject(new Error(`waiting for QMP event ${name}: ${this.closedBecause}`));
    return new Promise<QmpEvent>((resolve, reject) => {
      const waiter: EventWaiter = {
        matches: test,
        resolve: (e) => {
          clearTimeout(timer);
          this.eventWaiters.delete(waiter);
          resolve(e);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.eventWaiters.delete(waiter);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.eventWaiters.delete(waiter);
        const got = this.events.slice(since).map((e) => e.name);
        reject(
          new HarnessError(
            `QMP event ${name} did not come within ${timeoutMs} ms (events since: ${got.length ? got.join(', ') : 'none'})`,
            'the guest may not have acted on the request: look at its console log (ACPI hotplug needs a guest with ACPI and CPU hotplug)',
          ),
        );
      }, timeoutMs);
      this.eventWaiters.add(waiter);
    });
  }

  private shut(reason: string): void {
    if (this.closedBecause) return;
    this.closedBecause = reason;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`QMP ${p.command}: ${reason}`));
    }
    this.pending.clear();
    for (const w of [...this.eventWaiters]) w.reject(new Error(`waiting for a QMP event: ${reason}`));
  }

  get closed(): boolean {
    return this.closedBecause !== null;
  }

  close(): void {
    this.shut('the QMP client was closed');
    this.socket.destroy();
  }
}

function connectOnce(socketPath: string): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      s.destroy();
      reject(e);
    });
  });
}
