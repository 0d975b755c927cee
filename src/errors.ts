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

/**
 * A build that failed because the disk is full (or read-only) is a set-up
 * problem of this machine, not a kernel that cannot be judged: say so, and
 * where, instead of a compiler hint. Null when the output shows no such cause. Pure.
 */
export function diskFailure(output: string, where: string): HarnessError | null {
  if (/No space left on device/.test(output)) {
    return new HarnessError(`the disk under ${where} is full (ENOSPC): the build could not write its output`, `free space there, or point the cache elsewhere (REFPROBE_CACHE_DIR=DIR); make prune removes what killed runs left`);
  }
  if (/Read-only file system/.test(output)) {
    return new HarnessError(`${where} is on a read-only file system (EROFS)`, 'point the cache at a writable directory (REFPROBE_CACHE_DIR=DIR)');
  }
  return null;
}
