/**
 * The exit statuses every command shares, where every layer can read them:
 * 0 all matched, 1 a reading differed, 2 usage or set-up, 3 the kernel
 * complained or the guest died, 125 untestable (git bisect's skip), 130
 * interrupted, 255 stop a bisection.
 */
export const EXIT = { ok: 0, mismatch: 1, usage: 2, crash: 3, untestable: 125, interrupted: 130, bisectAbort: 255 } as const;

/** The worst exit status wins: interrupted, then crash, then set-up, then mismatch. */
export function worstExit(codes: readonly number[]): number {
  for (const c of [EXIT.interrupted, EXIT.crash, EXIT.usage, EXIT.mismatch, EXIT.untestable]) if (codes.includes(c)) return c;
  return EXIT.ok;
}

