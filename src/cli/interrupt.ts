/**
 * The signals a person or a CI system stops a command with: Ctrl-C
 * (SIGINT), a CI job's cancel or timeout (SIGTERM), a closed terminal
 * (SIGHUP). Each aborts the command's work the same way; the command then
 * stops its guest, writes what it has and exits 130.
 */
let signalled = false;

/** Whether a signal stopped the command: whatever error the work then threw, the exit status is 130. */
export function wasInterrupted(): boolean {
  return signalled;
}

export function abortOnSignals(tool: string, what: string): AbortController {
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${tool}: ${sig}: ${what}\n`);
      signalled = true;
      ac.abort();
    });
  }
  return ac;
}
