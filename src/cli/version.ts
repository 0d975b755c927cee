/**
 * `--version` on every command: the package version and the harness's own
 * commit, which is what a report's provenance names too, so a bug report
 * can say exactly which harness judged the kernel. Thin I/O, bounded.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The checkout, from dist/src/cli/ (compiled) or src/cli/ (source). */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.includes('/dist/') ? '../../..' : '../..');

/** The words, from what was found. Pure. */
export function versionLine(tool: string, pkg: string, commit: string | null, dirty: boolean): string {
  const where = commit ? `commit ${commit.slice(0, 12)}${dirty ? ' with local changes' : ''}` : 'not a git checkout: no commit';
  return `${tool} (pcpu-refcnt-harness) ${pkg}, ${where}`;
}

async function git(args: string[]): Promise<string | null> {
  const r = await execa('git', ['-C', repoRoot, ...args], { reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** Prints the version line and returns true when argv asks for it (before any other option is read). */
export async function answerVersion(tool: string, argv: readonly string[] = process.argv.slice(2)): Promise<boolean> {
  if (!argv.includes('--version')) return false;
  const pkg = (JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const commit = await git(['rev-parse', 'HEAD']);
  const dirty = commit !== null && ((await git(['status', '--porcelain', '--untracked-files=no'])) ?? '').length > 0;
  process.stdout.write(`${versionLine(tool, pkg, commit, dirty)}\n`);
  return true;
}
