#!/usr/bin/env node
/** `make compare`: two runs side by side. Wiring only; the work is in src/report/compare.ts. */
import { HarnessError } from '../src/errors.js';
import { compareRuns, comparisonTable, strictNote } from '../src/report/compare.js';
import { loadBench, loadRuns } from '../src/cli/load-runs.js';
import { benchComparisonTable, benchKernelName, compareBench } from '../src/bench/compare.js';
import { answerVersion } from '../src/cli/version.js';
import { parseCommandLine } from '../src/cli/options.js';

const HELP = `Usage: compare [--all] A B      (make compare ARGS="A B")

Compares two finished runs, A (the baseline: last week's, the unpatched
kernel) and B (today's, the patched kernel): per run (kernel x topology)
and scenario, what changed from A to B:

  regressed   B fails (a reading differed, or the kernel complained) where A did not
  fixed       A failed, B passes
  changed     any other change of verdict (e.g. a pass that became a skip or an error)
  new, gone   a scenario or run only in B, or only in A
  unchanged   the same verdict

A and B are run directories (out/runs/<time>-<pid>) or report.json files of
vm-test (one run or a matrix) or make mutants. Runs are paired by their
label (<kernel>-smpS-possibleP); when A and B share none (two kernels), by
topology.

A and B may instead be two benchmark runs (out/bench/<time>-<pid> or their
bench.json): per kernel and point, B's median against A's with both ranges
(median [min-max] of the repeats) and whether the change is real: only
when the ranges do not overlap, as make bench judges. A real slowdown is
a regression. Kernels are paired by name (one kernel each: paired anyway).

  --all       list unchanged scenarios too
  --strict    also fail (exit 1) when a scenario that passed in A was not
              judged in B: an error, never reached (B stopped early), or
              missing. For a CI gate: a cut-short run is no pass
  --version   the harness's version and commit
  -h, --help  this text

Exit status: 0 nothing regressed; 1 a scenario regressed (with --strict
also: one that passed in A was not judged in B; bench: a point is really
slower); 2 bad usage.
`;

async function main(): Promise<number> {
  if (await answerVersion('compare')) return 0;
  const parsed = parseCommandLine('compare', { allowPositionals: true, options: { all: { type: 'boolean' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new HarnessError(`expected two runs, got ${positionals.length}`, 'pass A B: two run directories or report.json files (see --help)');
  const [ba, bb] = await Promise.all(positionals.map(loadBench));
  if (ba && bb) {
    const c = compareBench(ba, bb);
    const names = (r: typeof ba): string => r.kernels.map(benchKernelName).join(', ');
    process.stdout.write(`A: ${positionals[0]} (${names(ba)})\nB: ${positionals[1]} (${names(bb)})\n\n${benchComparisonTable(c)}\n`);
    return c.slower > 0 ? 1 : 0;
  }
  if (ba || bb) {
    throw new HarnessError(`${ba ? positionals[0] : positionals[1]} is a benchmark run and ${ba ? positionals[1] : positionals[0]} is not`, 'compare two benchmark runs (out/bench/...) or two vm-test/mutants runs (out/runs/...)');
  }
  const [a, b] = await Promise.all(positionals.map(loadRuns));
  const c = compareRuns(a ?? [], b ?? []);
  process.stdout.write(`A: ${positionals[0]} (${a?.map((r) => r.label).join(', ')})\nB: ${positionals[1]} (${b?.map((r) => r.label).join(', ')})\n\n${comparisonTable(c, values.all === true)}\n`);
  const note = values.strict ? strictNote(c) : null;
  if (note) process.stdout.write(`--strict: ${note}\n`);
  return c.counts.regressed > 0 || note ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(e instanceof HarnessError ? `compare: ${e.message}\n` : `compare: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
