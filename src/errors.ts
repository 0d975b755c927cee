/**
 * An error the user can act on: what failed, and what to do about it.
 * The command-line entry points print these without a stack trace.
 */
export class HarnessError extends Error {
  constructor(
    readonly what: string,
    readonly fix: string,
    readonly details?: string,
  ) {
    super(`${what}\n  fix: ${fix}${details ? `\n${details}` : ''}`);
    this.name = 'HarnessError';
  }
}
