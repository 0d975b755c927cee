#!/usr/bin/env node
/** `make vm-test`: the command-line entry point. Wiring only; the work is in src/run/vm-test.ts. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KERNEL_NAMES } from '../src/kernel/variants.js';
import { isNamedKernel } from '../src/kernel/select.js';
import { DEBIAN_KERNEL_EXAMPLES } from '../src/kernel/debian-archive.js';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../src/errors.js';
import { HELP, parseVmTestArgs, type VmTestArgs } from '../src/cli/vm-test-args.js';
import { runVmTest, SCENARIOS } from '../src/run/vm-test.js';
import { exitCode, matrixSummary, summary } from '../src/report/summary.js';
import { tapCell, tapHeader } from '../src/report/tap.js';
import { runMatrix } from '../src/run/matrix.js';
import { cellLabel, type Cell } from '../src/report/matrix-report.js';
import { finishedRun, writeCiFiles, type CiFiles } from '../src/run/ci-files.js';
import { strictNote, compareRuns, comparisonTable, type LabelledRun } from '../src/report/compare.js';
import { loadRuns } from '../src/cli/load-runs.js';
import { bisectExit } from '../src/report/summary.js';
import { EXIT } from '../src/exit-status.js';
import type { RunReport } from '../src/report/report.js';
import type { FinishedRun } from '../src/report/results.js';
import { abortOnSignals, wasInterrupted } from '../src/cli/interrupt.js';
import { baseLabel, patchedName, patchSummary, verifyPatch, type PatchBase, type PatchRequest } from '../src/run/verify-patch.js';
import type { MatrixContext } from '../src/run/matrix.js';
import { answerVersion } from '../src/cli/version.js';
import { checkOutputPaths, lostOutputs } from '../src/run/outputs.js';
import { qemuBackend } from '../src/backend/qemu/guest.js';
import { sshBackend } from '../src/backend/ssh/guest.js';
import type { Backend } from '../src/backend/backend.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  if (await answerVersion('vm-test')) return 0;
  const args = parseVmTestArgs(process.argv.slice(2), SCENARIOS);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(22)} ${s.claim}\n`);
    return 0;
  }
  // A baseline that cannot be read is a mistake to hear before the VMs start, not after.
  const baseline: LabelledRun[] | null = args.baseline ? await loadRuns(args.baseline) : null;
  // A missing kernel is the user's mistake, once: say so before any VM starts.
  for (const c of args.cells) {
    const file = c.spec.kernelTree ?? (c.spec.kernel && !isNamedKernel(c.spec.kernel) ? c.spec.kernel : undefined);
    if (file && !existsSync(file)) throw new HarnessError(`${file}: no such file or directory`, `pass --kernel with ${[...KERNEL_NAMES, ...DEBIAN_KERNEL_EXAMPLES].join(', ')} or the path of a bzImage, or --kernel-tree with a built tree`);
  }
  await checkOutputPaths(args.context.outDir, [args.junit, args.kcidb]);
  const interrupt = abortOnSignals('vm-test', 'stopping the guest and writing the report');
  const ctx = {
    ...args.context,
    repoRoot,
    progress: (line: string) => void process.stderr.write(`vm-test: ${line}\n`),
    signal: interrupt.signal,
  };
  // What every run of this command runs: the scenarios, and the module's parameters (--fault breaks the "kernel" on purpose).
  const suite = { scenarios: args.scenarios, moduleParams: (args.fault === 'hold-twice' ? { fault_hold_twice: true } : {}) as Record<string, boolean> };
  if (args.patches.length > 0) return patchRun(args, suite, ctx);
  const one = args.remote ? { backend: sshBackend(args.remote), label: args.remoteLabel ?? 'ssh' } : args.cells.length === 1 && !args.shard ? singleCell(args) : null;
  if (one) {
    const { backend, label } = one;
    const report = await runVmTest({ ...suite, backend, label }, { ...ctx, tap: (text) => process.stdout.write(`${text}\n`) });
    const run = await finishedRun(label, report.files.report, report);
    await writeCiFiles(ciFiles(args), [run], args.scenarios, path.basename(report.files.dir), ctx.progress);
    process.stderr.write(summary(report));
    if (args.bisect) return bisectVerdict(report);
    return againstBaseline(baseline, [run], exitCode(report));
  }
  const share = args.shard ? `shard ${args.shard.k}/${args.shard.n} of ${args.plannedCells.length} runs: ` : '';
  process.stderr.write(`vm-test: ${share}${args.cells.length} runs (${args.cells.map(cellLabel).join(', ') || 'none'}), ${Math.min(args.jobs, args.cells.length)} at a time; seed ${ctx.seed}\n`);
  let n = 0;
  process.stdout.write(`${tapHeader(args.cells.length, [`matrix: ${args.cells.map(cellLabel).join(', ')}`, `seed ${ctx.seed}`])}\n`);
  const { report, exit, runs: inMemory } = await runMatrix(
    { ...suite, cells: args.cells, guest: args.guest, shard: args.shard, planned: args.plannedCells.map(cellLabel), jobs: args.jobs },
    { ...ctx, tapCell: (label, tap, ok) => void process.stdout.write(`${tapCell(++n, label, tap, ok)}\n`), summarize: summary },
  );
  // A cell an interrupt kept from starting left no report: it is not in the files.
  const runs = (await Promise.all(report.cells.map((c) => finishedRun(c.label, c.report, inMemory.get(c.label)).catch(() => null)))).filter((r) => r !== null);
  await writeCiFiles(ciFiles(args), runs, args.scenarios, path.basename(report.dir), ctx.progress);
  process.stderr.write(matrixSummary(report));
  return againstBaseline(baseline, runs, exit);
}

/** What the CI writers take from the command line: the files asked for, and where the runs are (a KCIDB log's URL is its path below --out). */
function ciFiles(args: VmTestArgs): CiFiles {
  return { junit: args.junit, kcidb: args.kcidb, kcidbOrigin: args.kcidbOrigin, artifactsUrl: args.artifactsUrl, outDir: args.context.outDir };
}

/** One kernel on one topology: a run of its own, no matrix. */
function singleCell(args: VmTestArgs): { backend: Backend; label: string } {
  const cell = args.cells[0] as Cell;
  return { backend: qemuBackend(cell.spec, { smp: cell.smp, possibleCpus: cell.possibleCpus }, args.guest), label: cellLabel(cell) };
}

/** --patch: the base and the patched kernel, every topology, then the two side by side. */
async function patchRun(args: VmTestArgs, suite: Pick<PatchRequest, 'scenarios' | 'moduleParams'>, ctx: Omit<MatrixContext, 'tapCell' | 'summarize'>): Promise<number> {
  const n = args.topologies.length * 2;
  const on: PatchBase = args.baseTree ? { tree: args.baseTree } : { variant: args.base };
  const base = baseLabel(on);
  process.stderr.write(`vm-test: verifying ${args.patches.join(', ')} on ${base}: ${n} runs (${base} and ${patchedName(base)} on ${args.topologies.map((t) => `${t.smp}:${t.possibleCpus}`).join(', ')}); seed ${ctx.seed}\n`);
  process.stdout.write(`${tapHeader(n, [`patch: ${args.patches.join(', ')} on ${base}`, `seed ${ctx.seed}`])}\n`);
  let k = 0;
  const v = await verifyPatch(
    { ...suite, guest: args.guest, patches: args.patches, base: on, topologies: args.topologies, jobs: args.jobs },
    { ...ctx, tapCell: (label, tap, ok) => void process.stdout.write(`${tapCell(++k, label, tap, ok)}\n`), summarize: summary },
  );
  await writeCiFiles(ciFiles(args), v.runs, args.scenarios, path.basename(v.matrix.dir), ctx.progress);
  for (const c of v.matrix.cells.filter((x) => !x.ok)) process.stderr.write(`\n[${c.label}]${c.summary.trimEnd()}\n`);
  process.stderr.write(`\nvm-test: ${base} beside ${patchedName(base)}, per topology and scenario:\n${comparisonTable(v.comparison, true, { a: base, b: patchedName(base) }, 160)}\n`);
  process.stderr.write(patchSummary(v, base));
  return v.exit;
}

/** --bisect: the status git bisect run reads, and the verdict in words. */
function bisectVerdict(report: RunReport): number {
  const code = bisectExit(report);
  const word = code === EXIT.ok ? 'good' : code === EXIT.mismatch ? 'bad' : code === EXIT.untestable ? 'skip (this commit cannot be judged)' : 'stop the bisection';
  process.stderr.write(`vm-test: bisect: ${word} (exit ${code})${report.error ? `: ${report.error.split('\n')[0]}` : ''}\n`);
  return code;
}

/**
 * With --baseline, the verdict is the comparison's: known differing
 * readings are tolerated, a scenario that fails where the baseline passed
 * (or with no baseline) is not. A kernel complaint or a dead guest (3), a
 * set-up error (2) or an interrupt (130) keeps its status.
 */
function againstBaseline(baseline: LabelledRun[] | null, runs: readonly FinishedRun[], exit: number): number {
  if (!baseline) return exit;
  const c = compareRuns(baseline, runs, true);
  process.stderr.write(`\nvm-test: against the baseline:\n${comparisonTable(c)}\n`);
  // Only differing readings are tolerated against the baseline: a crash, a dead guest, a set-up error or an interrupt keep their status.
  if (exit !== EXIT.mismatch && exit !== EXIT.ok) return exit;
  // As make compare --strict: a scenario the baseline passed and this run did not judge (an error, never reached) is no pass.
  const note = strictNote(c);
  if (note) process.stderr.write(`vm-test: against the baseline: ${note}\n`);
  return c.counts.regressed > 0 || note ? EXIT.mismatch : EXIT.ok;
}

main().then(
  (code) => {
    // A run whose files a full disk refused still has its verdict: the summary above and this status.
    const lost = lostOutputs();
    if (lost.length) process.stderr.write(`vm-test: ${lost.length} output file(s) could not be written: ${lost.join('; ')}. The verdict above is the run's own (exit ${code}); free space and run again to keep the files.\n`);
    process.exit(code);
  },
  (e: unknown) => {
    // Under git bisect run, a 2 would mark the commit bad: stop the bisection instead.
    const failed = process.argv.includes('--bisect') ? EXIT.bisectAbort : EXIT.usage;
    if (e instanceof HarnessError) {
      process.stderr.write(`vm-test: ${e.message}\n`);
      process.exit(wasInterrupted() ? 130 : failed);
    }
    process.stderr.write(`vm-test: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(wasInterrupted() ? 130 : failed);
  },
);
