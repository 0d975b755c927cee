/**
 * Starts QEMU with execa, streams the console to a file and to a line
 * callback, and makes sure the process never outlives the harness: execa's
 * cleanup kills it when Node exits, and stop() escalates to SIGKILL.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

export interface QemuExit {
  exitCode: number | undefined;
  signal: string | undefined;
  stderr: string;
}

export class QemuProcess {
  readonly exited: Promise<QemuExit>;
  private readonly proc: ResultPromise<{ reject: false; stdin: 'ignore'; buffer: { stdout: false; stderr: true } }>;
  private readonly log: WriteStream;
  private done = false;

  constructor(qemu: string, args: string[], consoleLog: string, onLine: (line: string) => void) {
    this.log = createWriteStream(consoleLog);
    this.proc = execa(qemu, args, {
      reject: false,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
      cleanup: true,
      forceKillAfterDelay: 2000,
    });
    let partial = '';
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      this.log.write(chunk);
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    this.exited = this.proc.then(async (r) => {
      this.done = true;
      if (partial) onLine(partial);
      await new Promise<void>((resolve) => this.log.end(resolve));
      return { exitCode: r.exitCode, signal: r.signal, stderr: String(r.stderr ?? '') };
    });
  }

  get running(): boolean {
    return !this.done;
  }

  /** Waits up to graceMs for QEMU to exit on its own, then kills it. */
  async stop(graceMs: number): Promise<QemuExit> {
    if (this.done) return this.exited;
    let timer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
    ]);
    clearTimeout(timer);
    if (!graceful) this.proc.kill('SIGKILL');
    return this.exited;
  }
}
