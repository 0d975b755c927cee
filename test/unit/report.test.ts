import t from 'tap';
import { readableDiff, stableJson } from '../../src/model/diff.js';
import type { RunReport, ScenarioResult } from '../../src/report/report.js';
import { scenarioStatus } from '../../src/report/report.js';
import { exitCode, summary } from '../../src/report/summary.js';
import { tapHeader, tapScenario, tapSummary } from '../../src/report/tap.js';

const step = (op: string, ok: boolean, diff?: string) => ({ op, ok, predicted: { present: true }, observed: { present: true }, ...(diff ? { diff } : {}) });

const passing: ScenarioResult = {
  name: 'lifecycle',
  claim: 'a new device reads 1',
  status: 'pass',
  steps: [step('alloc rp0 on CPU 1', true), { ...step('register', true), note: 'baseline: 8' }],
  crashes: [],
  durationMs: 12,
  consoleLines: [0, 3],
};

t.test('diff: field by field, expected (-) against observed (+)', async (t) => {
  const d = readableDiff({ refcnt: 9, pcpu: { 0: 8, 1: 1 } }, { refcnt: 10, pcpu: { 0: 8, 1: 2 } });
  t.match(d, /^--- expected \(model\)\n\+\+\+ observed \(kernel\)/);
  t.match(d, /-\s+"1": 1,?\n\+\s+"1": 2/);
  t.match(d, /-\s+"refcnt": 9\n\+\s+"refcnt": 10/);
  t.equal(readableDiff({ a: 1, b: 2 }, { b: 2, a: 1 }), '', 'key order does not matter');
  t.equal(stableJson({ 10: 1, 2: 1 }), '{\n  "2": 1,\n  "10": 1\n}', 'CPUs sort numerically');
});

t.test('KTAP: one subtest per scenario (its own version line, name, plan), one test per step, diffs in YAML', async (t) => {
  t.equal(tapHeader(2, ['kernel x']), 'KTAP version 1\n# kernel x\n1..2');
  const ok = tapScenario(1, passing);
  t.match(ok, /^    KTAP version 1\n    # Subtest: lifecycle\n    # [^\n]+\n    1\.\.2\n    ok 1 - alloc rp0 on CPU 1\n/, 'version line, name, claim, plan, then the steps (ktap.rst)');
  t.match(ok, /    # baseline: 8\n/);
  t.match(ok, /\nok 1 - lifecycle # time=12ms$/);
  const bad = tapScenario(2, {
    ...passing,
    status: 'fail',
    steps: [step('hold rp0 x3 on CPU 1', false, '--- expected (model)\n+++ observed (kernel)\n- "refcnt": 11\n+ "refcnt": 14')],
  });
  t.match(bad, /    not ok 1 - hold rp0 x3 on CPU 1\n      ---\n      diff: \|\n        --- expected/);
  t.match(bad, /    # lifecycle: fail\nnot ok 2 - lifecycle # time=12ms$/, 'the result line carries the name alone: kunit.py pairs it with "# Subtest: lifecycle"');
  const skipped = tapScenario(4, { ...passing, status: 'skip', steps: [step('alloc', true), { ...step('needs three online CPUs', true), skip: 'needs three online CPUs' }] });
  t.match(skipped, /    ok 2 - needs three online CPUs # SKIP needs three online CPUs\nok 4 - lifecycle # SKIP needs three online CPUs$/, 'a skipped scenario is a KTAP SKIP with the reason');
  t.match(tapScenario(5, { ...passing, steps: [step('hold no. 3 # of them', true)] }), /ok 1 - hold no\. 3 no\. of them\n/, 'no "#" in a name: it would start a directive');
  const crashed = tapScenario(3, { ...passing, status: 'crash', crashes: [{ kind: 'panic', title: 'kernel panic: x', line: 9, excerpt: 'Kernel panic' }] });
  t.match(crashed, /    1\.\.2\n/, 'a kernel complaint is no test of its own: the plan counts the steps');
  t.match(crashed, /    # kernel console, line 9: kernel panic: x\n    # \| Kernel panic\n[^]*\nnot ok 3 - lifecycle/, 'it is a diagnostic, and the scenario fails');
  const stopped = tapScenario(6, { ...passing, status: 'error', error: 'no answer within 20 s to: hold rp0 0 1' });
  t.match(stopped, /    # scenario stopped: no answer within 20 s to: hold rp0 0 1\n/);
  t.notMatch(stopped, /not ok \d+ - scenario stopped/, 'no pseudo-step');
  t.match(tapSummary([passing]), /1 passed, 0 skipped, 0 failed, 0 crashed, 0 errored; steps: 2\/2 matched the model, 0 skipped/);
});

t.test('summary: skips are counted apart and never as passes', async (t) => {
  const skip: ScenarioResult = { ...passing, name: 'racing-reader', status: 'skip', steps: [{ ...step('x', true), skip: 'needs three online CPUs' }] };
  t.match(tapSummary([passing, skip]), /# scenarios: 1 passed, 1 skipped, 0 failed, 0 crashed, 0 errored; steps: 2\/2 matched the model, 1 skipped/);
  const s = summary(report({ scenarios: [passing, skip] }));
  t.match(s, /PASS: 1 scenarios matched the model, 1 skipped on/);
  t.match(s, /skipped racing-reader: needs three online CPUs/);
});

t.test('scenario status: crash over error over mismatch', async (t) => {
  const finding = { kind: 'warning' as const, title: 'w', line: 1, excerpt: '' };
  t.equal(scenarioStatus([step('a', true)], [], undefined), 'pass');
  t.equal(scenarioStatus([step('a', false)], [], undefined), 'fail');
  t.equal(scenarioStatus([step('a', true)], [], 'refused'), 'error');
  t.equal(scenarioStatus([step('a', false)], [], 'refused'), 'fail', 'the mismatch is the cause');
  t.equal(scenarioStatus([step('a', false)], [finding], 'x'), 'crash');
  t.equal(scenarioStatus([step('a', true), { ...step('b', true), skip: 'why' }], [], undefined), 'skip', 'a skipped step: the claim was not all checked');
  t.equal(scenarioStatus([{ ...step('b', true), skip: 'why' }], [], 'refused'), 'error', 'an error is never a skip');
});

const report = (over: Partial<RunReport>): RunReport => ({
  tool: 'vm-test',
  seed: 1,
  startedAt: '',
  ok: true,
  kernel: { image: '/boot/vmlinuz', kdir: '/k', release: '6.1.0-57-amd64', banner: '' },
  variant: 'pcpu',
  tracker: false,
  topology: { nrCpuIds: 2, possible: [0, 1], online: [0, 1] },
  accel: { accel: 'tcg', reason: '' },
  target: 'qemu tcg pc smp=2',
  boot: null,
  module: null,
  initramfs: null,
  phasesMs: { build: 1, boot: 2, total: 3 },
  scenarios: [passing],
  crashes: [],
  error: null,
  errorKind: null,
  files: { dir: '/o', console: '/o/console.log', report: '/o/report.json', tap: '/o/tap.txt' },
  ...over,
});

t.test('exit status and the closing summary', async (t) => {
  t.equal(exitCode(report({})), 0);
  t.equal(exitCode(report({ ok: false, scenarios: [{ ...passing, status: 'fail' }] })), 1);
  t.equal(exitCode(report({ ok: false, crashes: [{ kind: 'panic', title: 'p', line: 1, excerpt: '' }] })), 3);
  t.equal(exitCode(report({ ok: false, error: 'the guest agent did not start within 120 s', errorKind: 'guest', scenarios: [] })), 3);
  t.equal(exitCode(report({ ok: false, error: 'no kernel image in /boot', errorKind: 'setup', scenarios: [] })), 2);
  t.equal(exitCode(report({ ok: false, error: 'interrupted', errorKind: 'interrupted' })), 130);
  t.equal(exitCode(report({ ok: false, error: 'kernel linux: build failed', errorKind: 'untestable', scenarios: [] })), 125, 'the kernel under test does not build: it cannot be judged');
  t.match(summary(report({})), /PASS: 1 scenarios matched the model on 6\.1\.0-57-amd64/);
  const failed = summary(report({ ok: false, scenarios: [{ ...passing, status: 'fail', steps: [step('hold', false, '- a\n+ b')] }] }));
  t.match(failed, /FAIL: 0\/1 scenarios/);
  t.match(failed, /console log: \/o\/console\.log/, 'a failure says where its log is');
  t.match(failed, /report: +\/o\/report\.json/);
});

t.test('--bisect: the status git bisect run reads', async (t) => {
  const { bisectExit } = await import('../../src/report/summary.js');
  const crash = (kind: 'panic' | 'refcount' | 'unregister-wait') => [{ kind, title: kind, line: 1, excerpt: '' }];
  t.equal(bisectExit(report({})), 0, 'good');
  t.equal(bisectExit(report({ ok: false, scenarios: [{ ...passing, status: 'fail' }] })), 1, 'a reading differs: bad');
  t.equal(bisectExit(report({ ok: false, scenarios: [{ ...passing, status: 'crash' }], crashes: crash('panic') })), 1, 'died in a scenario: bad');
  t.equal(bisectExit(report({ ok: false, error: 'kernel linux: build failed', errorKind: 'untestable', scenarios: [] })), 125, 'does not build: skip');
  t.equal(bisectExit(report({ ok: false, error: 'the guest agent did not start within 120 s', errorKind: 'guest', scenarios: [], crashes: crash('panic') })), 125, 'died at boot of something else: skip');
  t.equal(bisectExit(report({ ok: false, error: 'the guest agent did not start within 120 s', errorKind: 'guest', scenarios: [], crashes: crash('refcount') })), 1, 'died at boot of a reference count: bad');
  t.equal(bisectExit(report({ ok: false, error: 'no', errorKind: 'guest', scenarios: [], crashes: crash('unregister-wait') })), 1, 'hung at boot on a held device: bad');
  t.equal(bisectExit(report({ ok: false, error: 'no', errorKind: 'guest', scenarios: [], crashes: [{ kind: 'warning', title: 'WARNING at net/core/dev.c:10412', line: 3, excerpt: 'WARNING: CPU: 0 PID: 1 at net/core/dev.c:10412 netdev_refcnt_read+0x2c/0x40' }] })), 1, 'a WARN at boot in the reference count code: bad');
  t.equal(bisectExit(report({ ok: false, error: 'the kernel refused the module', errorKind: 'untestable', scenarios: [], crashes: crash('refcount') })), 1, 'refused the module after a refcount_t complaint: bad');
  t.equal(bisectExit(report({ ok: false, scenarios: [{ ...passing, status: 'error', error: 'command timed out' }] })), 125, 'a scenario that could not go on proves nothing: skip');
  t.equal(bisectExit(report({ ok: true, scenarios: [{ ...passing, status: 'skip' }] })), 125, 'every scenario skipped: nothing judged, skip');
  t.equal(bisectExit(report({ ok: false, error: 'no answer within 20 s', errorKind: 'guest', scenarios: [passing] })), 1, 'the guest died once scenarios ran: bad');
  t.equal(bisectExit(report({ ok: false, error: 'no kernel image', errorKind: 'setup', scenarios: [] })), 255, 'a set-up error stops the bisection (2 would mark the commit bad)');
  t.equal(bisectExit(report({ ok: false, error: 'TypeError', errorKind: 'internal', scenarios: [] })), 255);
  t.equal(bisectExit(report({ ok: false, error: 'interrupted', errorKind: 'interrupted' })), 130);
});

t.test('progress for long work: k of n, elapsed, an estimate from the mean so far', async (t) => {
  const { duration, progressLine } = await import('../../src/report/progress.js');
  t.equal(duration(59_400), '59s');
  t.equal(duration(250_000), '4m10s');
  t.equal(duration(3_725_000), '1h02m');
  const at = new Date('2026-12-01T09:41:07Z');
  t.equal(progressLine(0, 22, 1000, at), '[09:41:07] 0 of 22 done, 1s elapsed', 'no estimate before the first is done');
  t.equal(progressLine(3, 22, 250_000, at), '[09:41:07] 3 of 22 done, 4m10s elapsed, ~26m23s left');
  t.equal(progressLine(22, 22, 600_000, at), '[09:41:07] 22 of 22 done, 10m00s elapsed');
});

t.test('a stopped run lists every scenario it never reached: a SKIP kunit.py knows, and the run never green', async (t) => {
  const { tapNotRun } = await import('../../src/report/tap.js');
  t.equal(
    tapNotRun(3, ['stress', 'cpu#hotplug'], 'no answer within 60 s to: echo x\nmore'),
    'not ok 3 - stress # SKIP not run: no answer within 60 s to: echo x\nnot ok 4 - cpuno. hotplug # SKIP not run: no answer within 60 s to: echo x',
    'after a scenario that failed (it stopped the run): skips, not more failures',
  );
  t.equal(
    tapNotRun(1, ['lifecycle', 'extremes'], 'no kbuild tree'),
    'not ok 1 - lifecycle # the run stopped before it: no kbuild tree\nnot ok 2 - extremes # SKIP not run: no kbuild tree',
    'stopped before any scenario: the first carries the run\'s failure',
  );
});
