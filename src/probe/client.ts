/**
 * The harness's side of refprobe: loads the module in the target, sends ctl
 * commands and reads its files. Thin I/O over a Target; the text is parsed by
 * probe/parse.ts.
 */
import { GUEST_MODULE_PATH } from '../initramfs/build.js';
import { HarnessError, UntestableError } from '../errors.js';
import type { DeviceReading } from '../model/types.js';
import type { RunResult, Target } from '../backend/target.js';
import { parseDevices, parseInfo, parseIrq, parseRace, parseStress, type IrqResult, type ProbeInfo, type RaceResult, type StressResult } from './parse.js';

export const DEBUGFS_DIR = '/sys/kernel/debug/refprobe';

export interface CtlResult {
  ok: boolean;
  /** The module's message for a refused command (its error file). */
  error: string;
  /** What the shell said, e.g. "write error: Invalid argument". */
  errno: string;
}

/** Quote a word for the guest's sh. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class RefProbe {
  /** modulePath: refprobe.ko on the target (the initramfs's, or the run's directory over SSH). */
  constructor(
    readonly target: Target,
    readonly modulePath: string = GUEST_MODULE_PATH,
  ) {}

  async load(params: Record<string, string | number | boolean> = {}): Promise<void> {
    const args = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'boolean' ? Number(v) : v}`);
    const r = await this.target.run(`insmod ${this.modulePath} ${args.join(' ')} 2>&1 || { rc=$?; dmesg | tail -5; exit $rc; }`);
    if (r.exitCode !== 0) {
      throw new UntestableError(
        `the kernel refused the module: ${r.stdout.trim().split('\n').join(' | ')}`,
        'build it against the kbuild tree of the booted kernel (--kdir); a vermagic or symbol version mismatch means the tree and image differ',
      );
    }
  }

  async unload(): Promise<{ ok: boolean; output: string }> {
    const r = await this.target.run('rmmod refprobe 2>&1');
    return { ok: r.exitCode === 0, output: r.stdout.trim() };
  }

  async ctl(command: string): Promise<CtlResult> {
    // The fast path (one write, and one read of the error file if refused) where the target has one; a one-line command only.
    // (echo would take a leading '-' for an option, and the agent's read trims the line.)
    const fast = this.target.write && this.target.read && /^[^\n\r-][^\n\r]*$/.test(command) && command === command.trim();
    const r = fast
      ? await this.target.write?.(`${DEBUGFS_DIR}/ctl`, command)
      : await this.target.run(`echo ${sq(command)} > ${DEBUGFS_DIR}/ctl || { cat ${DEBUGFS_DIR}/error >&2; exit 1; }`);
    if (!r) throw new Error('unreachable: a target with write has it');
    if (r.exitCode === 0) return { ok: true, error: '', errno: '' };
    const said = r.stderr.trim().split('\n');
    const errno = (said.find((l) => l.includes('write error')) ?? '').replace(/^.*write error: /, '');
    const module = fast ? (await this.read('error')).trim().split('\n') : said.filter((l) => !l.includes('write error'));
    return { ok: false, error: module.join(' '), errno };
  }

  /** Runs a command that must succeed; a refusal is a harness error. */
  async must(command: string): Promise<void> {
    const r = await this.ctl(command);
    if (!r.ok) throw new HarnessError(`refprobe refused "${command}": ${r.error} (${r.errno})`, 'see kmod/README.md for the command and its errors');
  }

  async info(): Promise<ProbeInfo> {
    return parseInfo(await this.cat('info'));
  }

  async devices(): Promise<Map<string, DeviceReading>> {
    return parseDevices(await this.cat('devices'));
  }

  async device(name: string): Promise<DeviceReading | undefined> {
    return (await this.devices()).get(name);
  }

  async stress(): Promise<StressResult> {
    return parseStress(await this.cat('stress'));
  }

  async race(): Promise<RaceResult> {
    return parseRace(await this.cat('race'));
  }

  async irq(): Promise<IrqResult> {
    return parseIrq(await this.cat('irq'));
  }

  /**
   * Polls a device until `done` holds or the timeout passes. Returns the
   * milliseconds it took, or null on timeout. Every 20 ms for the first
   * second, then every 50: a reading costs 1-2 ms on a virtio channel (10
   * over SSH), a wait measured to the poll is only as sharp as its interval,
   * and the long waits (windows of 1.5 s and more) need not load the guest.
   */
  async waitFor(name: string, done: (d: DeviceReading | undefined) => boolean, timeoutMs: number): Promise<number | null> {
    const start = Date.now();
    for (;;) {
      if (done(await this.device(name))) return Date.now() - start;
      if (Date.now() - start > timeoutMs) return null;
      await new Promise((r) => setTimeout(r, Date.now() - start < 1000 ? 20 : 50));
    }
  }

  /** A file of the module's, the target's fork-free way when it has one. */
  private fetch(file: string): Promise<RunResult> {
    const f = `${DEBUGFS_DIR}/${file}`;
    return this.target.read ? this.target.read(f) : this.target.run(`cat ${f}`);
  }

  /** The file's text, or nothing when it cannot be read (the error file, after a refusal). */
  private async read(file: string): Promise<string> {
    const r = await this.fetch(file);
    return r.exitCode === 0 ? r.stdout : '';
  }

  private async cat(file: string): Promise<string> {
    const r = await this.fetch(file);
    if (r.exitCode !== 0) throw new HarnessError(`cannot read ${DEBUGFS_DIR}/${file}: ${r.stderr.trim()}`, 'is the module loaded and debugfs mounted?');
    return r.stdout;
  }
}
