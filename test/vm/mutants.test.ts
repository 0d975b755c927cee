/**
 * make mutants: per kernel variant (pcpu, refcount, tracker from
 * linux-source-6.1, pcpu-6.12 and tracker-6.12 from linux-source-6.12, built
 * and cached), the unpatched variant passes the whole
 * suite with the predictions of its own mechanism, and every mutant kernel
 * in vm/mutants/<variant>/ is killed by a named scenario. This is the proof
 * that each check can fail on a wrong kernel, not just on a wrong module.
 * The unpatched runs (never cut short) are the variants' own test: their
 * reports are read here for what tells the mechanisms apart.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../fixtures.js';
import type { RunReport } from '../../src/report/report.js';
import type { StepRecord } from '../../src/scenarios/scenario.js';
import { loadMutants } from '../../src/run/mutants.js';
import type { MutantOutcome } from '../../src/report/mutants-report.js';
import { strayQemus, streamProgress } from '../vm-harness.js';

const step = (r: RunReport, scenario: string, op: RegExp): StepRecord | undefined =>
  r.scenarios.find((s) => s.name === scenario)?.steps.find((s) => op.test(s.op));

t.test('every unpatched variant passes with its own predictions, every mutant kernel is killed', async (t) => {
  const mutants = await loadMutants(repoRoot);
  t.ok(mutants.length >= 6, `${mutants.length} mutants`);
  // --fail-fast: the verdicts are what this test needs; `make mutants` without it shows every scenario each mutant fails.
  // --kills-only: pcpu/raw-cpu-inc (Survives:) is the correct kernel instruction for instruction; docs/arm64.md shows its run.
  const r = await streamProgress(execa('node', [path.join(repoRoot, 'dist/harness/mutants.js'), '--fail-fast', '--kills-only'], { reject: false, all: true, timeout: 4_800_000 }));
  t.equal(r.exitCode, 0, `exit status 0\n${r.all?.slice(-5000)}`);
  for (const v of ['pcpu', 'refcount', 'tracker', 'pcpu-6.12', 'tracker-6.12', 'pcpu-arm64']) t.match(r.stdout, new RegExp(`^\\| unpatched \\| ${v} \\| passed \\| - \\|`, 'm'), `the unpatched ${v} variant passes in the same run`);
  for (const m of mutants.filter((x) => x.survives === undefined)) {
    const verdict = m.notApplicable ? 'not-applicable \\| - \\|' : 'killed \\| [a-z-]+ \\|';
    const kernel = `${m.variant.replace('.', '\\.')}${m.presentAs ? ` \\(as ${m.presentAs}\\)` : ''}`;
    t.match(r.stdout, new RegExp(`^\\| ${m.name} \\| ${kernel} \\| ${verdict}`, 'm'), `${m.variant}/${m.name}: ${m.notApplicable ? 'says why it does not apply' : 'killed by a named scenario'}`);
  }
  // The 6.12 rule that QEMU's empty sockets are not possible under TCG is proven by a 6.12 kernel that makes them so.
  t.match(r.stdout, /^\| unpatched \| pcpu-6\.12 \(as qemu\) \| passed \| - \|/m, 'the unpatched 6.12 kernel passes as QEMU is too: the baseline of the mutant judged there');
  t.match(r.stdout, /^\| disabled-cpus-usable \| pcpu-6\.12 \(as qemu\) \| killed \| possible-cpus \| possible CPUs: the kernel's rule \(6\.12\)/m);
  // The other branch, on the default machine (presented as VMware): the empty sockets must be possible, and a hot-added CPU's references summed.
  t.match(r.stdout, /^\| possible-is-present \| pcpu-6\.12 \| killed \| possible-cpus \| possible CPUs: the kernel's rule \(6\.12\)/m);
  t.match(r.stdout, /^\| sum-present-only \| pcpu-6\.12 \| killed \| cpu-unplug \| CPU \d+ \(hot-added\) unplugged/m);
  // 6.12's tracker words its report differently ("NAME@ADDR has 1/1 users at"): the rule for it is proven by a tracker that stays silent.
  t.match(r.stdout, /^\| leak-unreported \| tracker-6\.12 \| killed \| tracker-leak \|/m);
  // The case for a second architecture: one patch, raw_cpu_inc() in dev_hold()/dev_put(), the same instruction on x86-64 and a lost update on arm64.
  t.notMatch(r.stdout, /^\| raw-cpu-inc \| pcpu \|/m, '--kills-only: the x86-64 twin, which must survive, is not run');
  t.match(r.stdout, /^\| raw-cpu-inc \| pcpu-arm64 \| killed \| irq-context \| irq: CPU \d+'s counter and the sum after the race/m, 'arm64: killed by a mismatch of the interrupt-context scenario');
  t.same(await strayQemus(), []);

  const dir = /runs kept in (\S+)/.exec(r.stderr)?.[1];
  if (!dir) return t.fail(`no run directory in:\n${r.stderr.slice(-2000)}`);
  const { outcomes } = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as { outcomes: MutantOutcome[] };
  const reports = new Map<string, RunReport>();
  for (const o of outcomes.filter((x) => x.name === 'unpatched' && x.report)) reports.set(o.kernel, JSON.parse(await readFile(o.report as string, 'utf8')) as RunReport);
  const arm64 = reports.get('pcpu-arm64');
  if (!arm64) return t.fail('no unpatched pcpu-arm64 report');
  t.match(arm64.target, /virt/, 'arm64: the virt machine');
  t.equal(arm64.scenarios.find((s) => s.name === 'irq-context')?.status, 'pass', 'arm64: the interrupt-context race runs and matches the model');
  t.equal(arm64.scenarios.find((s) => s.name === 'racing-reader')?.status, 'pass', 'arm64: three online CPUs race');
  t.match(arm64.scenarios.find((s) => s.name === 'cpu-unplug')?.steps.find((x) => x.skip)?.skip, /virt machine cannot hot-add or unplug a vCPU/, 'arm64: cpu-unplug is a skip that says why');
  t.ok(step(arm64, 'possible-cpus', /^possible CPUs/)?.ok, 'arm64: possible CPUs predicted from the device tree, and checked');
  const pcpu = reports.get('pcpu');
  const refcount = reports.get('refcount');
  const tracker = reports.get('tracker');
  if (!pcpu || !refcount || !tracker) return t.fail(`an unpatched report is missing: ${[...reports.keys()].join(', ')}`);
  t.match(pcpu.kernel?.release, /-pcpu$/, 'the variant names itself in its release');
  t.equal(pcpu.variant, 'pcpu');
  t.equal(refcount.variant, 'refcount', 'CONFIG_PCPU_DEV_REFCNT=n: the module reports a refcount_t kernel');
  t.equal(tracker.tracker, true, 'CONFIG_NET_DEV_REFCNT_TRACKER=y');

  const put = (x: RunReport): StepRecord | undefined => step(x, 'imbalance', /^put_unowned/);
  t.equal((put(pcpu)?.observed as { refcnt?: number }).refcnt, 0, 'pcpu: the sum silently drops to 0');
  t.equal((put(refcount)?.observed as { refcnt?: number }).refcnt, -1073741824, 'refcount_t: saturated at INT_MIN/2');
  // refcount_t's complaints are WARN_ONCE: the first scenario that provokes one gets the line, later ones must not expect it.
  const warned = (x: RunReport, scenario = 'imbalance'): unknown => (step(x, scenario, /^console after/)?.observed as { warnings?: string[] }).warnings;
  t.same(warned(pcpu), [], 'pcpu: not a word on the console');
  t.same(warned(refcount, 'dummy-device'), ['refcount_t: addition on 0; use-after-free', 'WARNING at lib/refcount.c', 'refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c'], 'refcount_t: a hold on a dummy\'s 0 warns, then the put hits 0');
  t.same(warned(refcount), [], 'refcount_t: the imbalance hits 0 again, and WARN_ONCE stays silent');
  t.same(
    warned(tracker, 'unregister-below-one'),
    ['refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c', 'refcount_t: saturated; leaking memory', 'WARNING at lib/refcount.c', 'WARNING at lib/ref_tracker.c'],
    'the tracker warns even with per-CPU counters: its own refcount_t and its untracked put',
  );
  t.same(warned(tracker), [], 'tracker: printed once this boot already');
  const leak = (x: RunReport): unknown => (step(x, 'tracker-leak', /^unregister with the tracked/)?.observed as { leakReported?: boolean }).leakReported;
  t.equal(leak(tracker), true, 'tracker: "leaked reference." with the stack that took it');
  const status = (x: RunReport, name: string): unknown => x.scenarios.find((s) => s.name === name)?.status;
  t.equal(status(pcpu, 'tracker-leak'), 'skip', 'pcpu: no tracker, so the leak report is a SKIP, not a pass');
  t.equal(status(refcount, 'tracker-leak'), 'skip');
  t.equal(status(pcpu, 'racing-reader'), 'pass', 'three online CPUs: the race runs, it is not skipped');
  const race = (x: RunReport): unknown => (step(x, 'racing-reader', /^race:/)?.observed as { outsideTrueRange?: number }).outsideTrueRange;
  t.equal(race(refcount), 0, 'refcount_t: one atomic load, never outside the true range');
  const mem = (x: RunReport): unknown => (step(x, 'memory-cost', /^alloc \d+ devices: per-CPU bytes per device/)?.predicted as { bytesPerDevice?: number }).bytesPerDevice;
  t.equal(mem(pcpu), 16, '4 bytes x 4 per-CPU units (4 possible CPUs)');
  t.equal(mem(refcount), 0, 'a refcount_t lives in the net_device: no per-CPU memory');
});
