/**
 * A machine under test: runs shell commands and returns their output and
 * exit status. Scenarios speak only to this; QEMU is one implementation, a
 * real machine over SSH can be another.
 */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Target {
  /** A short description for reports ("qemu tcg microvm smp=2"). */
  readonly description: string;
  run(script: string, opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** Ends the session: stops the machine (or disconnects) and frees resources. */
  close(): Promise<void>;
}

export type TargetFailure = 'boot-timeout' | 'command-timeout' | 'guest-died' | 'closed';

export class TargetError extends Error {
  constructor(
    readonly kind: TargetFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TargetError';
  }
}
