#!/usr/bin/env node
/** `make bench`: the command-line entry point. Wiring only; the work is in src/bench/run.ts. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../src/errors.js';
import { BENCH_HELP, parseBenchArgs } from '../src/cli/bench-args.js';
import { runBench } from '../src/bench/run.js';
import { abortOnSignals, wasInterrupted } from '../src/cli/interrupt.js';
import { buildPatchPair, patchedName } from '../src/run/verify-patch.js';
import { answerVersion } from '../src/cli/version.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  if (await answerVersion('bench')) return 0;
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const interrupt = abortOnSignals('bench', 'stopping the guest and writing what was measured');
  const progress = (line: string): boolean => process.stderr.write(`bench: ${line}\n`);
  if (args.patches.length > 0) {
    // The base first: it is the reference every patched point is compared with.
    const { base, patched } = await buildPatchPair({ variant: args.base }, args.patches, { repoRoot, progress, signal: interrupt.signal });
    args.kernels = [
      { kernel: base.image, kdir: base.dir, name: args.base },
      { kernel: patched.image, kdir: patched.dir, name: patchedName(args.base) },
    ];
  }
  const { report, table } = await runBench({
    ...args,
    repoRoot,
    progress: (line) => process.stderr.write(`bench: ${line}\n`),
    signal: interrupt.signal,
  });
  process.stdout.write(table);
  const chart = report.kernels.length ? `\nbench: chart: ${report.files.svg}` : '';
  process.stderr.write(`bench: table: ${report.files.table}\nbench: JSON:  ${report.files.json}${chart}\n`);
  if (interrupt.signal.aborted) return 130;
  return report.error ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof HarnessError) {
      process.stderr.write(`bench: ${e.message}\n`);
      process.exit(wasInterrupted() ? 130 : 2);
    }
    process.stderr.write(`bench: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(wasInterrupted() ? 130 : 2);
  },
);
