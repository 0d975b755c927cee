/**
 * Progress for long work (mutant runs, matrices): "k of n", the time so far
 * and an estimate of what is left from the mean so far, with a clock time,
 * so a log read later says when each step ended. Pure.
 */

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "[09:41:07] 3 of 22 done, 4m10s elapsed, ~26m left" (no estimate before the first is done). */
export function progressLine(done: number, total: number, elapsedMs: number, now: Date): string {
  const clock = now.toISOString().slice(11, 19);
  const left = done > 0 && done < total ? `, ~${duration((elapsedMs / done) * (total - done))} left` : '';
  return `[${clock}] ${done} of ${total} done, ${duration(elapsedMs)} elapsed${left}`;
}
