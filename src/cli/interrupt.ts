/**
 * The signals a person or a CI system stops a command with: Ctrl-C
 * (SIGINT), a CI job's cancel or timeout (SIGTERM), a closed terminal
 * (SIGHUP). Each aborts the command's work the same way; the command then
 * stops its guest, writes what it has and exits with the shell's status for
 * that signal, 128 + its number: 130, 143, 129. A CI system reads 143 as
 * "my timeout stopped it", which 130 would hide.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof SIGNALS)[number];

let signalled: StopSignal | null = null;

/** Whether a signal stopped the command: whatever error the work then threw, the exit status is the signal's. */
export function wasInterrupted(): boolean {
  return signalled !== null;
}

/** 128 + the signal's number. Pure. */
export function signalStatus(sig: StopSignal): number {
  return 128 + constants.signals[sig];
}

export function abortOnSignals(tool: string, what: string): AbortController {
  const ac = new AbortController();
  for (const sig of SIGNALS) {
    process.on(sig, () => {
      process.stderr.write(`\n${tool}: ${sig}: ${what}\n`);
      signalled ??= sig;
      ac.abort();
    });
  }
  // Every layer speaks of one status for "interrupted" (130, EXIT.interrupted);
  // here, at the very end, it becomes the status of the signal that came.
  process.on('exit', (code) => {
    if (signalled && code === 130) process.exitCode = signalStatus(signalled);
  });
  return ac;
}
