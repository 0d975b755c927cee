/**
 * Debian's 6.12 kernels, stock and PREEMPT_RT, fetched by name from
 * Debian's archive (never installed) and run through the whole suite with
 * the model's 6.12 rules: the possible CPUs predicted from the release's
 * acpi_is_processor_usable() and QEMU's firmware, the hot-add half of
 * cpu-unplug skipped with the reason, a CPU present at boot unplugged
 * instead. The checks that the 6.12 rules fail on a wrong 6.12 kernel are
 * the pcpu-6.12 mutants (mutants.test.ts: disabled-cpus-usable dies in
 * possible-cpus, sum-present-only in cpu-unplug).
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import type { RunReport } from '../../src/report/report.js';
import type { StepRecord } from '../../src/scenarios/scenario.js';
import { SCENARIOS } from '../../src/scenarios/index.js';
import { matrixReportOf, strayQemus, vmTest } from '../vm-harness.js';

const step = (r: RunReport, scenario: string, op: RegExp): StepRecord | undefined =>
  r.scenarios.find((s) => s.name === scenario)?.steps.find((s) => op.test(s.op));
const skipOf = (r: RunReport, scenario: string): string =>
  r.scenarios.find((s) => s.name === scenario)?.steps.filter((s) => s.skip).map((s) => s.skip).join('; ') ?? '';

t.test("Debian's 6.12 and 6.12-rt by name: every scenario matches the model's 6.12 rules", async (t) => {
  const r = await vmTest(['--kernels', 'debian-6.12,debian-6.12-rt', '--topology', '2:4,3:5'], 1_200_000);
  t.equal(r.exitCode, 0, `exit status 0\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /kernel debian-6\.12: (cached|unpacked) Debian 6\.12\.\d+\+deb12-amd64 \(6\.12\.\d+-\S+\) in \S+\/debian\//, 'fetched into the cache');
  const matrix = await matrixReportOf(r.stderr);
  t.same(matrix.cells.map((c) => c.label).sort(), ['debian-6.12-rt-smp2-possible4', 'debian-6.12-rt-smp3-possible5', 'debian-6.12-smp2-possible4', 'debian-6.12-smp3-possible5']);
  for (const cell of matrix.cells) {
    const report = JSON.parse(await readFile(cell.report, 'utf8')) as RunReport;
    const rt = cell.label.includes('-rt-');
    t.equal(report.ok, true, `${cell.label}: ok`);
    t.match(report.kernel?.release, rt ? /^6\.12\.\d+\+deb12-rt-amd64$/ : /^6\.12\.\d+\+deb12-amd64$/);
    t.match(report.kernel?.banner, rt ? /PREEMPT_RT/ : /PREEMPT_DYNAMIC/, 'the banner says which preemption model');
    t.notMatch(report.kernel?.image ?? '', /^\/boot\//, 'not the host\'s /boot: the cache');
    t.same(report.scenarios.map((s) => s.name), SCENARIOS.map((s) => s.name), `${cell.label}: every scenario ran`);
    t.same([report.rules?.series, report.rules?.exact], ['6.12', true], 'the 6.12 rules, read for this release');
    t.match(report.target, /commands on virtio-serial/, '6.12 has virtio-console built in');
    // The rule's prediction, checked: possible = present at boot, whatever P the machine describes.
    const possible = step(report, 'possible-cpus', /^possible CPUs: the kernel's rule \(6\.12\)/);
    t.same([possible?.ok, possible?.predicted, possible?.observed], [true, { possible: cell.cell.smp }, { possible: cell.cell.smp }], `${cell.label}: ${cell.cell.smp} possible, not ${cell.cell.possibleCpus}`);
    t.match(possible?.note, /FADT revision 1\.0.*no hypervisor the kernel recognises.*QEMU pc: MADT with \d+ enabled and \d+ disabled/, 'the note says the machine and the kernel decide together');
    t.match(skipOf(report, 'possible-cpus'), /^no possible CPU is absent: 6\.12: /, 'the sum-over-absent-CPUs half is a skip that says why');
    // cpu-unplug: no hot-add, a boot CPU unplugged with its references, unregister waiting for them.
    t.match(skipOf(report, 'cpu-unplug'), /^hot-add not checked: the kernel makes no hot-pluggable socket possible .*; CPU \d+, present since boot, is unplugged instead$/);
    const unplugged = step(report, 'cpu-unplug', /^CPU \d+ \(present since boot\) unplugged: the 3 references it held still counted$/);
    t.equal(unplugged?.ok, true, `${cell.label}: the unplugged CPU's references are still in the sum`);
    t.equal(step(report, 'cpu-unplug', /left the present mask and is still possible/)?.ok, true);
    t.equal(step(report, 'cpu-unplug', /unregister still waiting/)?.ok, true);
    const skipped = report.scenarios.filter((s) => s.status === 'skip').map((s) => s.name);
    t.same(skipped, [...(cell.cell.smp < 3 ? ['racing-reader'] : []), 'tracker-leak', 'possible-cpus', 'cpu-unplug'], `${cell.label}: skips, never passes`);
  }
  t.same(await strayQemus(), [], 'no QEMU left running');
});

t.test('a Debian kernel name apt does not know: a clear error before anything boots', async (t) => {
  const r = await vmTest(['--kernel', 'debian-6.12.1']);
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /apt knows no amd64 kernel 6\.12\.1\+deb12 .*\n\s+fix: pick one apt has: debian-6\.12\.\d+/);
  const bad = await vmTest(['--kernel', 'debian-sid']);
  t.equal(bad.exitCode, 2);
  t.match(bad.stderr, /--kernel debian-sid: not a Debian kernel name\n\s+fix: pass debian-6\.1, debian-6\.12, debian-6\.12-rt/);
});
