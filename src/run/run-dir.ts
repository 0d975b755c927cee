/**
 * Where a run keeps what it leaves behind: out/runs/<time>-<pid>/ with the
 * console log, the JSON report and the TAP output. Never deleted by the
 * harness, so a failure can always be read afterwards.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

export interface RunFiles {
  dir: string;
  console: string;
  report: string;
  tap: string;
}

export function runStamp(now: Date, pid: number): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '');
  return `${t}-${pid}`;
}

/** A new run's directory, out/runs/<time>-<pid>/, or `exact` when given (a cell of a matrix). */
export async function makeRunDir(outDir: string, now = new Date(), exact?: string): Promise<RunFiles> {
  const dir = exact ?? path.resolve(outDir, 'runs', runStamp(now, process.pid));
  await mkdir(dir, { recursive: true });
  return {
    dir,
    console: path.join(dir, 'console.log'),
    report: path.join(dir, 'report.json'),
    tap: path.join(dir, 'tap.txt'),
  };
}
