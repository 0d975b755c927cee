/**
 * Starts QEMU with execa, streams the console to a file and to a line
 * callback, and makes sure the process never outlives the harness: execa's
 * cleanup kills it when Node exits, stop() escalates to SIGKILL, and the
 * kernel kills it when the harness dies in a way no handler sees (SIGKILL,
 * an OOM kill, a crash): see dieWithParent().
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * The command line that starts `cmd` with a parent-death signal: util-linux's
 * setpriv sets PR_SET_PDEATHSIG to SIGKILL and execs QEMU in the same
 * process, so when the harness dies, however it dies, QEMU is killed by the
 * kernel at once. Without setpriv (not a Debian host) execa's exit hook
 * remains, which SIGKILL skips.
 */
export function dieWithParent(cmd: string, args: readonly string[], setpriv = SETPRIV): [string, string[]] {
  return setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, [...args]];
}

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
  /** Why the console log stopped being written (a full disk), if it did. */
  logError: string | null = null;

  constructor(qemu: string, args: string[], consoleLog: string, onLine: (line: string) => void) {
    this.log = createWriteStream(consoleLog);
    // A full disk must not end the run: the lines still reach onLine (and the report); the file keeps what it got.
    this.log.on('error', (e: NodeJS.ErrnoException) => {
      this.logError = `${consoleLog}: ${e.code ?? e.message}`;
    });
    const [file, argv] = dieWithParent(qemu, args);
    this.proc = execa(file, argv, {
      reject: false,
      stdin: 'ignore',
      buffer: { stdout: false, stderr: true },
      cleanup: true,
      forceKillAfterDelay: 2000,
    });
    let partial = '';
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      if (!this.logError) this.log.write(chunk);
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    this.exited = this.proc.then(async (r) => {
      this.done = true;
      if (partial) onLine(partial);
      await new Promise<void>((resolve) => (this.logError ? resolve() : this.log.end(resolve)));
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
