/**
 * The main job on the stock Debian kernel: a real boot, the real module, and
 * every reading matched against the model. And the proof that the check can
 * fail: the same run with a kernel-side fault (every hold counts twice) must
 * fail with readable diffs.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SCENARIOS } from '../../src/scenarios/index.js';
import type { RunReport } from '../../src/report/report.js';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../fixtures.js';
import { HOLD_TWICE_FAILS, matrixReportOf, OUT, reportOf, strayQemus, vmTest } from '../vm-harness.js';
import { kcidbValidator } from '../kcidb-schema.js';
import type { KcidbDocument } from '../../src/report/kcidb.js';

/** The passing run of the first test: the baseline the fault run is compared with. */
let passingRun: string | null = null;

t.test('make vm-test on the stock kernel: both default topologies, every scenario matches the model', async (t) => {
  const head = (await execa('git', ['-C', repoRoot, 'rev-parse', 'HEAD'])).stdout.trim();
  const r = await vmTest([]);
  t.equal(r.exitCode, 0, `exit status 0\n${r.all}`);
  t.notMatch(r.stdout, /not ok/);
  const matrix = await matrixReportOf(r.stderr);
  t.equal(matrix.ok, true);
  passingRun = matrix.dir;
  t.same(matrix.cells.map((c) => c.label).sort(), ['stock-smp2-possible4', 'stock-smp4-possible64']);
  for (const cell of matrix.cells) {
    t.match(r.stdout, new RegExp(`^ok \\d+ - ${cell.label}$`, 'm'), `TAP: ${cell.label} ok`);
    const report = JSON.parse(await readFile(cell.report, 'utf8')) as RunReport;
    t.equal(report.ok, true, `${cell.label}: ok`);
    t.same(report.scenarios.map((s) => s.name), SCENARIOS.map((s) => s.name), `${cell.label}: every scenario ran`);
    t.equal(report.variant, 'pcpu', 'Debian 6.1 has CONFIG_PCPU_DEV_REFCNT=y');
    t.same([report.rules?.series, report.rules?.exact], ['6.1', true], "the model applies 6.1's rules, chosen from the kernel's version");
    t.equal(report.topology?.online.length, cell.cell.smp);
    t.equal(report.topology?.possible.length, cell.cell.possibleCpus, 'the possible CPUs are the topology asked for');
    t.equal(report.seed, matrix.seed, 'one seed for the whole matrix');
    t.ok(report.accel?.accel, 'the accelerator is reported');
    t.equal(report.boot?.mode, 'pvh', 'the stock kernel boots uncompressed through its PVH entry');
    for (const phase of ['build', 'initramfs', 'boot', 'scenarios', 'total'] as const) {
      t.type(report.phasesMs[phase], 'number', `phase time: ${phase}`);
    }
    const steps = report.scenarios.flatMap((s) => s.steps);
    const hold = steps.find((s) => s.op.startsWith('hold '));
    t.ok(hold && 'pcpu' in hold.predicted && 'pcpu' in hold.observed, 'hold steps carry per-CPU predictions and observations');
    const negative = steps.some((s) => Object.values((s.observed as { pcpu?: Record<string, number> }).pcpu ?? {}).some((v) => v < 0));
    t.ok(negative, 'a per-CPU counter went negative (hold on one CPU, put on another)');
    const skipped = report.scenarios.filter((s) => s.status === 'skip').map((s) => s.name);
    // The stock kernel has no reference tracker; on 2 CPUs the racing reader (it needs three) is skipped too.
    t.same(skipped, cell.cell.smp >= 3 ? ['tracker-leak'] : ['racing-reader', 'tracker-leak'], `${cell.label}: skipped, never passed`);
    t.match(r.stdout, new RegExp(`^    ok \\d+ - tracker-leak # SKIP no reference tracker`, 'm'), 'a skip is a TAP SKIP with its reason');
    t.ok(existsSync(report.files.console), 'the console log is kept');
    t.match(await readFile(report.files.tap, 'utf8'), /^KTAP version 1\n/);
    t.equal(report.schema, 'refprobe-run/2', 'the report says its format');
    const p = report.provenance;
    t.equal(p?.harness.commit, head, 'the harness commit it ran from');
    t.match(p?.command.join(' '), /^dist\/harness\/vm-test\.js --out /, 'the command line');
    t.match(p?.qemu, /^QEMU emulator version \d+\.\d+/, 'the QEMU version');
    t.match(p?.kernelConfig?.sha256, /^[0-9a-f]{64}$/, 'the kernel config hash');
    t.equal(p?.kernelConfig?.file, `${report.kernel?.kdir}/.config`);
  }
  t.same(await strayQemus(), [], 'no QEMU left running');
});

t.test('a kernel that counts a hold twice fails the run, with diffs', async (t) => {
  const baseline = passingRun ? ['--baseline', passingRun] : [];
  const r = await vmTest(['--smp', '2', '--fault', 'hold-twice', '--scenario', 'hold-put-every-cpu', '--scenario', 'lifecycle', ...baseline]);
  t.equal(r.exitCode, 1, 'exit status 1: a reading differed');
  if (passingRun) {
    t.match(r.stderr, /^\| stock-smp2-possible4 \| hold-put-every-cpu \| pass \| fail \| \*\*regressed\*\* \| a reading differed from the model: hold rphold0 x3 on CPU 0: - .* \|$/m, '--baseline: the regression against the passing run');
    t.match(r.stderr, /^1 regressed, 0 fixed, 0 changed, 0 new, 0 gone, 2 unchanged \(runs matched by label\)$/m, 'paired with the same run of the matrix by label (lifecycle and the run itself unchanged)');
  }
  t.match(r.stdout, /^    # hold-put-every-cpu: fail\nnot ok 1 - hold-put-every-cpu # time=/m, "the name alone on the result line, the status in a comment before it");
  t.match(r.stdout, /^    KTAP version 1\n    # Subtest: hold-put-every-cpu\n    # [^\n]+\n    1\.\.\d+\n/m, 'KTAP version 1: the subtest opens with its version line, name and plan');
  t.match(r.stdout, /^ok 2 - lifecycle /m, 'scenarios without holds still pass');
  t.match(r.stderr, /FAIL: 1\/2 scenarios matched the model/);
  t.match(r.stderr, /hold rphold0 x3 on CPU 0\n\s+--- expected \(model\)\n\s+\+\+\+ observed \(kernel\)/);
  t.match(r.stderr, /-\s+"refcnt": 11,?\n\s*\+\s+"refcnt": 14/, 'the diff shows the 3 extra references');
  const report = await reportOf(r.stderr);
  t.equal(report.ok, false);
  const failed = report.scenarios[0]?.steps.filter((s) => !s.ok) ?? [];
  t.ok(failed.length > 0 && failed.every((s) => s.diff), 'every failing step has a diff');
  t.ok(existsSync(report.files.console), 'the failed run kept its console log');
  t.same(await strayQemus(), []);
});

t.test('the same fault, whole suite: exactly the scenarios that take a reference with dev_hold fail', async (t) => {
  const junit = path.join(OUT, 'ci', 'hold-twice.junit.xml');
  const kcidb = path.join(OUT, 'ci', 'hold-twice.kcidb.json');
  const r = await vmTest(['--smp', '2', '--fault', 'hold-twice', '--junit', junit, '--kcidb', kcidb]);
  t.not(r.exitCode, 0, 'the run fails');
  const report = await reportOf(r.stderr);
  const failed = report.scenarios.filter((s) => s.status !== 'pass' && s.status !== 'skip').map((s) => s.name);
  t.same(failed, HOLD_TWICE_FAILS);
  for (const s of report.scenarios.filter((x) => x.status === 'fail')) {
    t.ok(s.steps.some((st) => !st.ok && st.diff), `${s.name}: a step differs, with its diff`);
  }
  // The same verdicts in the CI formats: KCIDB valid against KernelCI's schema, JUnit with the diffs.
  const doc = JSON.parse(await readFile(kcidb, 'utf8')) as KcidbDocument;
  const validate = kcidbValidator();
  t.ok(validate(doc), `KCIDB valid: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
  // The run itself fails too when the kernel complained outside every scenario (a device left waiting).
  const runLevel = report.crashes.length > 0 || report.errorKind === 'guest' ? ['run-level'] : [];
  t.same(doc.tests.filter((x) => x.status === 'FAIL').map((x) => x.path.replace(/^refprobe\./, '')), [...failed, ...runLevel], 'KCIDB: FAIL exactly where the run failed');
  t.same(doc.tests.filter((x) => x.status === 'SKIP').map((x) => x.path), ['refprobe.racing-reader', 'refprobe.tracker-leak']);
  const xml = await readFile(junit, 'utf8');
  t.equal([...xml.matchAll(/<failure message="/g)].length, failed.length + runLevel.length, 'JUnit: a failure per failed scenario');
  t.match(xml, new RegExp(`<testsuite name="stock-smp2-possible4" tests="${SCENARIOS.length + runLevel.length}" failures="${failed.length + runLevel.length}" errors="0" skipped="2"`));
  t.match(xml, /<failure message="a reading differed from the model: hold rphold0 x3 on CPU 0: - [^"]*" type="mismatch">/);
  t.same(await strayQemus(), []);
});
