/**
 * The Target for a running machine over SSH (OpenSSH's client, driven by
 * execa). One master connection for the run; on it, one long session runs
 * the same command agent as the QEMU guest (vm/guest/agent.sh, in bash), so a
 * step costs what it costs in QEMU plus a round trip; a second session
 * streams /dev/kmsg as the console (kmsg.ts). Anything else (facts, file
 * copies, the clean-up) is one command on the master.
 *
 * Whatever the run did to the machine is undone in close(), on a fresh
 * connection if the master was lost: the clean-ups registered (rmmod), CPUs
 * that were online brought back online, the remote directory removed.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { HarnessError } from '../../errors.js';
import { parseCpuList } from '../../model/cpumask.js';
import { AgentTarget } from '../agent/agent-channel.js';
import { QUIT } from '../agent/framing.js';
import { KmsgConsole, kmsgMarker } from './kmsg.js';
import { FACTS_SCRIPT, parseFacts, type RemoteFacts } from './remote-facts.js';
import { commandArgs, controlArgs, directArgs, formatDestination, masterArgs, shq, type SshSettings } from './ssh-args.js';
import { TargetError, type RunResult, type Target } from '../target.js';
import { scratchDir } from '../../cache/scratch.js';

export interface SshTargetOptions {
  ssh: Omit<SshSettings, 'controlPath'>;
  consoleLog: string;
  onConsoleLine: (line: string) => void;
  defaultTimeoutMs: number;
  /** vm/guest/agent.sh's text. */
  agentScript: string;
  agentIdleSec: number;
  /** Null: scenarios may take CPUs offline (they bring them back); else why not. */
  cpuOfflineRefused: string | null;
  progress: (line: string) => void;
}

type Proc = ResultPromise<{ reject: false; stdin: 'pipe'; buffer: { stdout: false; stderr: true } }>;

/** A one-off command's result; failed when ssh itself could not run it (exit 255, a timeout). */
export interface ExecResult extends RunResult {
  failed: boolean;
}

const SSH = 'ssh';
/** One run per machine: mkdir is atomic, and /run is emptied at boot. */
const MACHINE_LOCK = '/run/refprobe-harness.lock';
/** The clean-up's last line: without it, the clean-up did not run to its end. */
const CLEANED = '@@RP-CLEANED';

export class SshTarget extends AgentTarget implements Target {
  readonly description: string;
  readonly where: string;
  readonly cpuOfflineRefused: string | null;
  private readonly settings: SshSettings;
  private master: Proc | null = null;
  private masterStderr = '';
  private agent: Proc | null = null;
  private kmsg: Proc | null = null;
  private kmsgDone: Promise<unknown> = Promise.resolve();
  private readonly log: WriteStream;
  private readonly console: KmsgConsole;
  private readonly runId = `${process.pid}-${Date.now()}`;
  private cleanups: string[] = [];
  private closing = false;
  private locked = false;
  private reopen: NodeJS.Timeout | undefined;
  /** The machine, as read at connect. */
  facts: RemoteFacts | null = null;
  /** The run's directory on the machine (mktemp), removed at close. */
  remoteDir = '';

  private constructor(
    private readonly opts: SshTargetOptions,
    private readonly localDir: string,
  ) {
    super(opts.defaultTimeoutMs);
    this.settings = { ...opts.ssh, controlPath: path.join(localDir, 'cm') };
    this.where = formatDestination(opts.ssh.dest);
    this.description = `ssh ${this.where}`;
    this.cpuOfflineRefused = opts.cpuOfflineRefused;
    this.log = createWriteStream(opts.consoleLog);
    this.console = new KmsgConsole(kmsgMarker(this.runId));
  }

  /** Connects (master) and reads the machine's facts; nothing on the machine changes yet (prepare, startAgent). */
  static async connect(opts: SshTargetOptions): Promise<SshTarget> {
    const local = await scratchDir('rp-ssh');
    const t = new SshTarget(opts, local);
    try {
      await t.startMaster();
      const facts = await t.exec(FACTS_SCRIPT, { timeoutMs: 30_000 });
      t.facts = parseFacts(facts.stdout);
      return t;
    } catch (e) {
      await t.close();
      throw e;
    }
  }

  private async startMaster(): Promise<void> {
    const master = spawnSsh(masterArgs(this.settings));
    this.master = master;
    master.stderr?.on('data', (c: Buffer) => void (this.masterStderr += c.toString()));
    let exited = false;
    void master.then(() => {
      exited = true;
      if (!this.closing) this.channel.fail(this.lost(`the master connection ended${this.masterStderr.trim() ? `: ${lastLine(this.masterStderr)}` : ''}`));
    });
    const deadline = Date.now() + (this.settings.connectTimeoutSec + 5) * 1000;
    for (;;) {
      const r = await execa(SSH, controlArgs(this.settings, 'check'), { reject: false, timeout: 5000 });
      if (r.exitCode === 0) return;
      if (exited || Date.now() > deadline) {
        master.kill('SIGKILL');
        await master;
        const why = lastLine(this.masterStderr) || (exited ? 'ssh exited' : `no connection within ${this.settings.connectTimeoutSec + 5} s`);
        throw new HarnessError(
          `cannot connect to ${this.where}: ${why}`,
          `check that ssh${this.settings.identity ? ` -i ${this.settings.identity}` : ''}${this.settings.dest.port ? ` -p ${this.settings.dest.port}` : ''} ${this.settings.dest.user ? `${this.settings.dest.user}@` : ''}${this.settings.dest.host} true works without a prompt (a key the machine accepts, its host key known)`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private lost(why: string): TargetError {
    return new TargetError('connection-lost', `the SSH connection to ${this.where} was lost: ${why}`);
  }

  /**
   * One command on the master connection, its stdin from input. When ssh
   * itself fails (the link, a timeout, a signal) it throws the lost
   * connection, unless mayFail. Never without the master: ssh would
   * quietly open a connection of its own.
   */
  async exec(command: string, o: { input?: string | Buffer; timeoutMs?: number; mayFail?: boolean } = {}): Promise<ExecResult> {
    if (this.master === null || this.master.exitCode !== null || this.master.signalCode !== null) {
      if (o.mayFail) return { exitCode: -1, stdout: '', stderr: 'the master connection is gone', failed: true };
      throw this.lost('the master connection is gone');
    }
    const timeoutMs = o.timeoutMs ?? this.opts.defaultTimeoutMs;
    const r = await execa(SSH, commandArgs(this.settings, command), { reject: false, input: o.input ?? '', timeout: timeoutMs, encoding: 'utf8' });
    const failed = r.exitCode === 255 || r.timedOut || r.signal !== undefined || r.exitCode === undefined;
    if (failed && !o.mayFail) throw this.lost(r.timedOut ? `no answer within ${timeoutMs / 1000} s to: ${command.split('\n')[0]}` : lastLine(r.stderr) || `ssh ${r.signal ?? `exited ${r.exitCode}`}`);
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, failed };
  }

  /** Writes a file on the machine (mode 0600 under the run's directory). */
  async upload(remotePath: string, data: string | Buffer): Promise<void> {
    const r = await this.exec(`umask 077 && cat > ${shq(remotePath)}`, { input: data, timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new HarnessError(`copying ${remotePath} to ${this.where} failed: ${r.stderr.trim()}`, 'check the free space in /tmp there');
  }

  /** Runs on close, before the run's directory goes (e.g. rmmod); once each. */
  addCleanup(script: string): void {
    if (!this.cleanups.includes(script)) this.cleanups.push(script);
  }

  /**
   * Takes the machine for this run (one run at a time: a second one would
   * unload the first's module and online its CPUs), makes the run's
   * directory and opens the console (kmsg). The facts must have passed
   * remoteProblem first. The agent comes after the module's build
   * (startAgent): it gives up after its idle time.
   */
  async prepare(): Promise<void> {
    const lock = await this.exec(`mkdir ${MACHINE_LOCK} 2>/dev/null && echo ${shq(this.runId)} > ${MACHINE_LOCK}/owner`);
    if (lock.exitCode !== 0) {
      const owner = (await this.exec(`cat ${MACHINE_LOCK}/owner 2>/dev/null`, { mayFail: true })).stdout.trim();
      throw new HarnessError(
        `another run of the harness is using ${this.where} (${MACHINE_LOCK}${owner ? `, run ${owner}` : ''})`,
        `wait for it to end; if no run is left (one killed with SIGKILL), check there that refprobe is not loaded and every CPU is online, then: rm -r ${MACHINE_LOCK}`,
      );
    }
    this.locked = true;
    // Read under the lock: before it, another run may have been loading its own.
    const loaded = await this.exec('grep -c "^refprobe " /proc/modules || true');
    if (loaded.stdout.trim() !== '0') throw new HarnessError(`a module named refprobe is already loaded on ${this.where}, and no run holds the machine (one that could not clean up?)`, 'unload it there: rmmod refprobe');
    const dir = await this.exec('mktemp -d /tmp/refprobe.XXXXXX');
    if (dir.exitCode !== 0 || !/^\/tmp\/refprobe\.\w+$/.test(dir.stdout.trim())) throw new HarnessError(`cannot make a directory in /tmp on ${this.where}: ${dir.stderr.trim()}`, 'check /tmp there');
    this.remoteDir = dir.stdout.trim();
    await this.upload(`${this.remoteDir}/agent.sh`, this.opts.agentScript);
    await this.startConsole();
  }

  /**
   * A long session on the master running command. sshd makes the
   * session's shell a process group leader; its pid, kept in the run's
   * directory, names the group the clean-up kills.
   */
  private session(pidFile: string, command: string): Proc {
    return spawnSsh(commandArgs(this.settings, `echo $$ > ${this.remoteDir}/${pidFile} && exec ${command}`));
  }

  /** Starts the agent on its own session; its process group is killed at clean-up. */
  async startAgent(bootTimeoutMs: number): Promise<void> {
    const d = this.remoteDir;
    const agent = this.session('agent.pid', `bash -c ${shq(`. ${d}/agent.sh && agent_loop ${this.opts.agentIdleSec} ${d} bash`)}`);
    this.agent = agent;
    agent.stdout?.setEncoding('utf8');
    agent.stdout?.on('data', (c: string) => this.channel.push(c));
    agent.stdin?.on('error', () => undefined);
    this.channel.attach((line) => agent.stdin?.write(line));
    void agent.then((r) => {
      if (!this.closing) this.channel.fail(this.lost(`the agent's session ended (${r.signal ?? `status ${r.exitCode}`}${String(r.stderr ?? '').trim() ? `: ${lastLine(String(r.stderr))}` : ''})`));
    });
    await this.channel.waitReady(bootTimeoutMs, `the agent on ${this.where}`);
  }

  /** Streams /dev/kmsg from the marker on into the console log and the classifier. */
  private async startConsole(): Promise<void> {
    this.openKmsg();
    const mark = await this.exec(`echo ${shq(kmsgMarker(this.runId))} > /dev/kmsg`);
    if (mark.exitCode !== 0) throw new HarnessError(`cannot write to /dev/kmsg on ${this.where}: ${mark.stderr.trim()}`, 'the harness reads the kernel log there as the run\'s console: run as root');
    const deadline = Date.now() + 15_000;
    while (!this.console.started) {
      if (Date.now() > deadline) throw new HarnessError(`the kernel log of ${this.where} did not show the run's marker within 15 s`, 'check that /dev/kmsg can be read there (cat /dev/kmsg)');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private openKmsg(): void {
    // A reader the ring buffer overtakes gets EPIPE and cat stops: open it again (KmsgConsole drops what it saw).
    const k = this.session('kmsg.pid', 'cat /dev/kmsg');
    this.kmsg = k;
    k.stdout?.setEncoding('utf8');
    k.stdout?.on('data', (chunk: string) => {
      if (this.closing) return;
      for (const line of this.console.push(chunk)) {
        this.log.write(`${line}\n`);
        this.opts.onConsoleLine(line);
      }
    });
    this.kmsgDone = k.then(() => {
      if (this.closing || this.channel.failure) return;
      this.reopen = setTimeout(() => {
        if (!this.closing && !this.channel.failure) this.openKmsg();
      }, 100);
    });
  }

  /** The last lines of a machine that died are what its log sent before the link went: nothing more will come. */
  async settled(): Promise<void> {
    await Promise.race([this.kmsgDone, new Promise((r) => setTimeout(r, 2000))]);
  }

  /**
   * The clean-up script: the run's sessions ended (their process groups:
   * the agent and whatever it runs, the kmsg reader), registered clean-ups
   * (rmmod), CPUs back online, the directory and the machine's lock gone.
   * A run that never took the lock touches nothing but its own directory.
   */
  private cleanupScript(): string {
    const d = this.remoteDir;
    const own = this.locked
      ? [
          ...this.cleanups.map((c) => `{ ${c}; } >/dev/null 2>&1`),
          // Every CPU that was online when the run started is online when it ends, whatever a scenario did.
          `for c in ${(this.facts ? parseCpuList(this.facts.online) : []).join(' ')}; do f=/sys/devices/system/cpu/cpu$c/online; if [ -f $f ] && [ "$(cat $f)" = 0 ]; then echo 1 > $f || echo "CPU $c stays offline"; fi; done`,
          `echo ${shq(`refprobe-harness: run ${this.runId} ends`)} > /dev/kmsg`,
          'grep -q "^refprobe " /proc/modules && echo "refprobe is still loaded"',
          `grep -qx ${shq(this.runId)} ${MACHINE_LOCK}/owner 2>/dev/null && rm -r ${MACHINE_LOCK}`,
        ]
      : [];
    return [
      ...(d ? [`for f in ${d}/agent.pid ${d}/kmsg.pid; do [ -f $f ] && kill -TERM -- -$(cat $f) 2>/dev/null; done; sleep 0.2`] : []),
      ...own,
      ...(d ? [`rm -rf ${shq(d)}`] : []),
      `echo ${CLEANED}`,
    ].join('\n');
  }

  /**
   * Undoes what the run did to the machine and disconnects. When the master
   * connection is gone, a new connection does the cleaning. What could not
   * be undone is in leftBehind.
   */
  close(): Promise<void> {
    // The run's abort and its finally both close: the second waits for the first's clean-up, or the process would exit in the middle of it.
    this.closed ??= this.undoAndDisconnect();
    return this.closed;
  }

  private closed: Promise<void> | null = null;

  private async undoAndDisconnect(): Promise<void> {
    const wasLost = this.channel.failure?.kind === 'connection-lost' || this.master === null || this.master.exitCode !== null || this.master.signalCode !== null;
    this.closing = true;
    this.channel.fail(new TargetError('closed', 'the target was closed'));
    const left: string[] = [];
    clearTimeout(this.reopen);
    if (this.facts) {
      const script = this.cleanupScript();
      let r = wasLost ? null : await this.exec(script, { timeoutMs: 120_000, mayFail: true });
      if (!r || !r.stdout.includes(CLEANED)) {
        this.opts.progress(`ssh: connecting to ${this.where} again to clean up`);
        const x = await execa(SSH, directArgs(this.settings, script), { reject: false, timeout: (this.settings.connectTimeoutSec + 120) * 1000 });
        r = { exitCode: x.exitCode ?? -1, stdout: String(x.stdout), stderr: String(x.stderr), failed: !String(x.stdout).includes(CLEANED) };
      }
      if (!r.stdout.includes(CLEANED)) left.push(`could not clean up ${this.where} (${lastLine(r.stderr) || 'no answer'}): refprobe may still be loaded there (rmmod refprobe), CPUs offline, ${MACHINE_LOCK} left`);
      else left.push(...r.stdout.split('\n').filter((l) => l.trim() && l.trim() !== CLEANED).map((l) => `${this.where}: ${l}`));
    }
    if (this.console.lost > 0) left.push(`${this.console.lost} kernel log records of ${this.where} were lost before they were read (a log flood): a complaint among them could not be judged`);
    if (this.agent && this.agent.exitCode === null) this.agent.stdin?.write(QUIT);
    for (const p of [this.agent, this.kmsg]) p?.kill('SIGTERM');
    if (this.master && this.master.exitCode === null) {
      await execa(SSH, controlArgs(this.settings, 'exit'), { reject: false, timeout: 5000 });
      this.master.kill('SIGTERM');
    }
    await Promise.all([this.agent, this.kmsg, this.master].map((p) => p?.catch(() => undefined)));
    await new Promise<void>((resolve) => this.log.end(resolve));
    await rm(this.localDir, { recursive: true, force: true });
    this.leftBehind = left;
  }

  /** After close: what the clean-up could not undo, or could not see (empty when all is well). */
  leftBehind: string[] = [];
}

/** An ssh process the harness holds for the run (the master, a session): killed if Node exits. */
function spawnSsh(args: string[]): Proc {
  return execa(SSH, args, { reject: false, stdin: 'pipe', buffer: { stdout: false, stderr: true }, cleanup: true, forceKillAfterDelay: 2000 });
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter((l) => l.trim()).slice(-1)[0]?.trim() ?? '';
}
