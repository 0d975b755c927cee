/**
 * A machine under test: runs shell commands and returns their output and
 * exit status. Scenarios speak only to this; QEMU is one implementation, a
 * real machine over SSH can be another.
 */
import type { CpuFirmware } from '../model/release-rules.js';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Real CPU hot-unplug and hot-add: the CPU leaves or joins the guest's
 * present mask (not just the online one), as on a machine whose firmware
 * ejects a processor. A capability: only a backend that can do it has one
 * (QEMU with a QMP monitor and a hot-pluggable CPU layout); a scenario that
 * needs it and finds none skips.
 */
export interface CpuHotplug {
  /** Guest CPU numbers unplug() can remove now (on QEMU: those backed by a -device). */
  unpluggable(): number[];
  /**
   * Removes the CPU from the machine. The guest offlines it itself if it is
   * online; resolves once it has left the guest's present mask.
   */
  unplug(cpu: number): Promise<void>;
  /** Null when plug() can add a CPU now; otherwise why it cannot. */
  cannotPlug(): string | null;
  /**
   * Adds a CPU and resolves with its guest CPU number once it is present.
   * It comes up offline: onlining it (sysfs) is the caller's job.
   */
  plug(): Promise<number>;
}

/** What the harness gave a machine it made: CPUs asked for, and what its firmware tables say (backend/qemu/firmware.ts). */
export interface MachineFacts {
  smp: number;
  possibleCpus: number | null;
  firmware: CpuFirmware;
  /** The firmware in a sentence, for notes. */
  firmwareText: string;
  /** How the machine presented itself (backend/qemu/qemu-args.ts). */
  presentAs: 'qemu' | 'vmware';
  /** What the kernel would see were it presented as VMware: for a skip's hint. */
  asVmware: CpuFirmware;
}

export interface Target {
  /** A short description for reports ("qemu tcg microvm smp=2"). */
  readonly description: string;
  /** Present where the backend can really plug and unplug CPUs. */
  readonly cpuHotplug?: CpuHotplug;
  /** Where it cannot: why, in the machine's terms (e.g. QEMU's virt cannot hot-add or unplug a vCPU). */
  readonly cpuHotplugAbsent?: string;
  /**
   * Why scenarios must not take CPUs offline here (a real machine, unless
   * the user allowed it); absent or null where they may.
   */
  readonly cpuOfflineRefused?: string | null;
  run(script: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /**
   * Writes one line to a file (a ctl command) and reads a text file, where
   * the backend has a faster way than a shell script (QEMU's agent does both
   * on built-ins, with no fork). Without them, callers use run().
   */
  write?(file: string, text: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  read?(file: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Why the target stopped answering (it died, hung or was closed), or null while it answers. */
  readonly failure: TargetError | null;
  /**
   * Resolves once a target that died has said its last words: everything it
   * wrote to its console (the oops, the panic) is in the log. At once for a
   * target that is alive.
   */
  settled(): Promise<void>;
  /** Ends the session: stops the machine (or disconnects) and frees resources. */
  close(): Promise<void>;
  /**
   * After close, on a machine that outlives the run: what the clean-up
   * could not undo (a module still loaded, a CPU offline) or could not see
   * (kernel log records lost). The run is not ok while it is not empty.
   */
  readonly leftBehind?: readonly string[];
}

export type TargetFailure = 'boot-timeout' | 'command-timeout' | 'guest-died' | 'connection-lost' | 'closed';

export class TargetError extends Error {
  constructor(
    readonly kind: TargetFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TargetError';
  }
}

/** Writes one line to a file (a sysfs or sysctl knob), the target's fork-free way where it has one. */
export function writeLine(target: Target, file: string, text: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return target.write ? target.write(file, text, opts) : target.run(`echo ${text} > ${file}`, opts);
}
