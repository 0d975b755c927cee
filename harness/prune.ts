#!/usr/bin/env node
/** `make prune`: removes what killed runs left behind. Wiring only; the work is in src/cache/scratch.ts and src/kernel/patched-tree.ts. */
import path from 'node:path';
import { cacheRoot } from '../src/cache/cache.js';
import { prune as prunePatchedTrees } from '../src/kernel/patched-tree.js';
import { pruneLeftovers } from '../src/cache/scratch.js';
import { answerVersion } from '../src/cli/version.js';
import { parseCommandLine } from '../src/cli/options.js';

const HELP = `Usage: prune      (make prune)

Removes what runs killed before they could clean up left behind, and
nothing a live run still uses (each name carries its writer's pid):
  - half-written and damaged entries in the cache (${cacheRoot()})
  - scratch directories in $TMPDIR (refprobe-*, rp-ssh-*)
  - half-made patched kernel trees, and patched trees unused for weeks
A damaged cache entry needs no prune: the run that finds it says so,
removes it and builds it again.

  --version    the harness's version and commit
  -h, --help   this text
`;

async function main(): Promise<number> {
  if (await answerVersion('prune')) return 0;
  const { values } = parseCommandLine('prune', { options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const progress = (l: string): void => void process.stderr.write(`prune: ${l}\n`);
  const n = await pruneLeftovers(progress);
  await prunePatchedTrees(path.join(cacheRoot(), 'kernels'), progress);
  process.stdout.write(`prune: ${n} leftover(s) removed\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`prune: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
