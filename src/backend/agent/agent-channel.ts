/**
 * The harness's end of the command agent (vm/guest/agent.c in a QEMU guest,
 * vm/guest/agent.sh over SSH), whatever carries its bytes: a QEMU guest's
 * virtio-serial or serial port, an SSH session's stdin/stdout.
 * Sends requests, matches replies by id, and gives every request its own
 * timeout. Once the agent is gone (the carrier says so, or a command timed
 * out and later answers cannot be trusted) every pending and later request
 * fails at once with the same TargetError.
 */
import { encodeRead, encodeRequest, encodeWrite, ReplyDecoder, type Reply } from './framing.js';
import { TargetError, type RunResult } from '../target.js';

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

export class AgentChannel {
  private readonly decoder = new ReplyDecoder();
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private broken: TargetError | null = null;
  private readyWaiters: (() => void)[] = [];
  private onFail: ((e: TargetError) => void)[] = [];
  private isReady = false;
  private sender: ((line: string) => void) | null = null;

  constructor(private readonly defaultTimeoutMs: number) {}

  /** The carrier is connected: send writes a request line to the agent. */
  attach(send: (line: string) => void): void {
    this.sender = send;
  }

  get failure(): TargetError | null {
    return this.broken;
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** Bytes from the agent. */
  push(chunk: string): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'ready') {
        this.isReady = true;
        for (const w of this.readyWaiters.splice(0)) w();
      } else this.waiters.get(ev.reply.id)?.resolve(ev.reply);
    }
  }

  /** Resolves when the agent says READY; rejects with the channel's failure. */
  waitReady(timeoutMs: number, what: string): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        reject(new TargetError('boot-timeout', `${what} did not start within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.readyWaiters.push(done);
      this.onFail.push((e) => {
        clearTimeout(timer);
        reject(new TargetError(e.kind, `${what} never started: ${e.message}`));
      });
    });
  }

  /** The agent is gone: fail what waits and everything after. The first reason stays. */
  fail(err: TargetError): void {
    this.broken ??= err;
    for (const w of this.waiters.values()) w.reject(this.broken);
    this.waiters.clear();
    for (const f of this.onFail.splice(0)) f(this.broken);
  }

  run(script: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.request((id) => encodeRequest(id, script), firstLine(script), opts.timeoutMs);
  }

  /** Writes one line to a file on the agent's built-ins (no fork on the target). */
  write(file: string, text: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.request((id) => encodeWrite(id, file, text), `echo '${text}' > ${file}`, opts.timeoutMs);
  }

  /** Reads a text file on the agent's built-ins (no fork on the target). */
  read(file: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.request((id) => encodeRead(id, file), `cat ${file}`, opts.timeoutMs);
  }

  private async request(encode: (id: number) => string, what: string, timeoutMs = this.defaultTimeoutMs): Promise<RunResult> {
    if (this.broken) throw this.broken;
    const send = this.sender;
    if (!send) throw new TargetError('closed', 'the command channel is not connected');
    const id = this.nextId++;
    const line = encode(id);
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        const err = new TargetError('command-timeout', `no answer within ${timeoutMs / 1000} s to: ${what}`);
        // The target may still be running it: later answers cannot be trusted.
        this.fail(err);
        reject(err);
      }, timeoutMs);
      this.waiters.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          this.waiters.delete(id);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      send(line);
    });
    return { exitCode: reply.exitCode, stdout: reply.stdout, stderr: reply.stderr };
  }
}

function firstLine(script: string): string {
  const line = script.split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

/**
 * What every target that talks to the agent shares: its commands go
 * through one AgentChannel, and the channel's failure is the target's.
 * QemuTarget and SshTarget differ in what carries the bytes and what
 * closing means.
 */
export abstract class AgentTarget {
  protected readonly channel: AgentChannel;

  constructor(defaultTimeoutMs: number) {
    this.channel = new AgentChannel(defaultTimeoutMs);
  }

  /** Why the target stopped answering, if it did. */
  get failure(): TargetError | null {
    return this.channel.failure;
  }

  run(script: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.channel.run(script, opts);
  }

  /** Writes one line to a file on the agent's built-ins (no fork on the target). */
  write(file: string, text: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.channel.write(file, text, opts);
  }

  /** Reads a text file on the agent's built-ins (no fork on the target). */
  read(file: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.channel.read(file, opts);
  }
}
