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

/**
 * The kernel under test cannot be judged: it does not build, the module
 * does not build against it, or it refuses the module. For `git bisect
 * run` this is "skip this commit" (exit 125), not "bad".
 */
export class UntestableError extends HarnessError {
  constructor(what: string, fix: string, details?: string) {
    super(what, fix, details);
    this.name = 'UntestableError';
  }
}
