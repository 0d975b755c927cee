#!/usr/bin/env node
/** `make mutants`: every mutant kernel must be killed by a named scenario. Wiring only; the work is in src/run/mutants.ts. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../src/errors.js';
import { mutantsResult } from '../src/report/mutant-table.js';
import { mutantKey } from '../src/kernel/mutant.js';
import { loadMutants, runMutants } from '../src/run/mutants.js';
import { SCENARIOS } from '../src/scenarios/index.js';
import { abortOnSignals, wasInterrupted } from '../src/cli/interrupt.js';
import { parseShard } from '../src/run/shard.js';
import { answerVersion } from '../src/cli/version.js';
import { parseCommandLine } from '../src/cli/options.js';
import { parseSeed, SEED_OPTION, SHARD_OPTION } from '../src/cli/option-groups.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const HELP = `Usage: mutants [--mutant NAME|VARIANT/NAME]... [--fail-fast] [--seed N] [--shard K/N]      (make mutants ARGS="...")

Proves the suite catches broken kernels. Mutants live in
vm/mutants/<variant>/NAME.patch, each a plausible bug in the reference
count of that kernel variant (pcpu, refcount, tracker from linux-source-6.1;
pcpu-6.12 from linux-source-6.12; pcpu-arm64, cross-built: see make
kernels). The same bug in both releases has the same NAME; where it has no
counterpart in a release, its file there is a paragraph saying why,
reported as not-applicable (never built, never a kill). A bug an
architecture cannot show (raw-cpu-inc on x86-64: the same instruction) has
a "Survives: WHY" line there: it is run, and must survive.
For each variant that has mutants: run the whole suite on the variant
(built and cached as by make kernels; it must pass), then on each of its
mutants, built as vm-test --patch builds a patch (a copy of the variant's
source with the patch applied, built from a copy of the variant's objects,
cached by the patch's text; the variant itself is never patched), on 3
CPUs (4 possible; 3 on arm64's virt). Every mutant must be killed (but
those that must survive); the table names the scenario that killed each
and what differed.

  --mutant NAME   only this mutant, in every release that has it
                  (repeatable; default: all); VARIANT/NAME for one release
                  (pcpu-6.12/sum-in-short)
  --fail-fast     stop each mutant's run at its first failing scenario: the
                  verdicts in less time, without the per-scenario table
  --kills-only    leave out the mutants that must survive (their kernels
                  are the correct one's, instruction for instruction, where
                  they would run: make test leaves them out)
  --seed N        seed of the stress streams (default: random, printed)
  --shard K/N     only every Nth mutant from the Kth (with the unpatched
                  variants they belong to), for N CI jobs (same --seed);
                  make merge ARGS="DIR..." joins the shards' tables
  --version       the harness's version and commit
  -h, --help      this text

Runs are kept in out/mutants/<time>-<pid>/<variant>-<mutant>/ (console.log,
report.json).
A mutant is killed only by evidence about the kernel: a reading that
differed from the model, a kernel complaint (WARN, BUG, oops, panic) or a
guest that died or hung. A mutant whose run stopped for another reason (it
does not build, a command was refused, a harness error) is an error of the
run: it kills nothing, and the whole run fails with exit status 2.
After the table, a second one shows per scenario which mutants it kills.

Exit status: 0 every unpatched variant passed and every mutant was killed
(or does not apply, and says why);
1 a mutant survived or an unpatched variant failed; 2 set-up error or a
mutant run that ended in an error; 130 interrupted (143 by SIGTERM,
129 by SIGHUP).
`;

async function main(): Promise<number> {
  if (await answerVersion('mutants')) return 0;
  const parsed = parseCommandLine('mutants', { options: { ...SHARD_OPTION, ...SEED_OPTION, mutant: { type: 'string', multiple: true }, 'fail-fast': { type: 'boolean' }, 'kills-only': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const all = await loadMutants(repoRoot);
  const known = [...new Set([...all.map((m) => m.name), ...all.map(mutantKey)])];
  for (const m of values.mutant ?? []) {
    if (!known.includes(m)) throw new HarnessError(`no mutant "${m}"`, `pass --mutant with one of: ${[...new Set(all.map((x) => x.name))].join(', ')} (every release's), or VARIANT/NAME for one (${mutantKey(all[0] ?? { variant: 'pcpu', name: 'NAME' })})`);
  }
  const seed = parseSeed(values);
  const ac = abortOnSignals('mutants', 'stopping the run');
  const progress = (line: string): void => void process.stderr.write(`mutants: ${line}\n`);
  progress(`seed ${seed}`);
  const run = runMutants(
    {
      only: values.mutant ?? [],
      shard: parseShard(values.shard),
      failFast: values['fail-fast'] === true,
      killsOnly: values['kills-only'] === true,
      // As vm-test does (VMware for 6.12 under TCG); a mutant that shows only on the other machine says so (Present-as:).
      guest: { accel: 'auto', singlestep: 'auto', machine: 'pc', presentAs: 'auto', boot: 'auto', memoryMb: 256, qemu: 'qemu-system-x86_64', busybox: '/bin/busybox', append: [], qemuExtra: [] },
      // Three online CPUs: racing-reader needs a holder, a putter and a reader; one socket stays free for cpu-unplug.
      cpus: { smp: 3, possibleCpus: 4 },
      scenarios: SCENARIOS,
      moduleParams: {},
    },
    {
      repoRoot,
      outDir: 'out',
      bootTimeoutSec: 120,
      // A mutant that never lets unregister finish hangs a command: give up sooner than usual.
      commandTimeoutSec: 20,
      runTimeoutSec: 600,
      verbose: false,
      seed,
      progress,
      signal: ac.signal,
    },
  );
  const result = await run.catch((e: unknown) => {
    if (!ac.signal.aborted) throw e;
    return null;
  });
  if (!result) {
    progress('interrupted: nothing was judged (the variants were never patched; a half-built mutant tree is redone next time)');
    return 130;
  }
  const { outcomes, dir, ok } = result;
  const out = mutantsResult(outcomes, ok, { failFast: values['fail-fast'] === true, scenarios: SCENARIOS.map((s) => s.name), seed, where: dir });
  process.stdout.write(out.stdout);
  process.stderr.write(out.stderr);
  return ac.signal.aborted ? 130 : out.exit;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(e instanceof HarnessError ? `mutants: ${e.message}\n` : `mutants: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(wasInterrupted() ? 130 : 2);
  },
);
