/**
 * Debian's 6.12 kernels, stock and PREEMPT_RT, fetched by name from
 * Debian's archive (never installed) and run through the whole suite with
 * the model's 6.12 rules. Under TCG 6.12 makes QEMU's empty CPU sockets
 * possible only on a hypervisor it recognises: by default (--present-as
 * auto) the machine presents itself as VMware, and possible-cpus and
 * cpu-unplug's hot-add are checked as on 6.1; as QEMU is (--present-as
 * qemu) the model predicts possible = present, the hot-add half is a skip
 * that says why, and a CPU present since boot is unplugged instead. The
 * proof that the 6.12 rules fail on a wrong 6.12 kernel is in the pcpu-6.12
 * and tracker-6.12 mutants (mutants.test.ts).
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import type { RunReport } from '../../src/report/report.js';
import type { StepRecord } from '../../src/scenarios/scenario.js';
import { SCENARIOS } from '../../src/scenarios/index.js';
import { matrixReportOf, reportOf, strayQemus, vmTest } from '../vm-harness.js';

const step = (r: RunReport, scenario: string, op: RegExp): StepRecord | undefined =>
  r.scenarios.find((s) => s.name === scenario)?.steps.find((s) => op.test(s.op));
const skipOf = (r: RunReport, scenario: string): string =>
  r.scenarios.find((s) => s.name === scenario)?.steps.filter((s) => s.skip).map((s) => s.skip).join('; ') ?? '';
const possibleStep = (r: RunReport): StepRecord | undefined => step(r, 'possible-cpus', /^possible CPUs: the kernel's rule \(6\.12\)/);

t.test("Debian's 6.12 and 6.12-rt by name, presented as VMware: every scenario runs and matches the 6.12 rules", async (t) => {
  // TCG whatever the host: under KVM 6.12 would recognise KVM itself, and auto would leave QEMU as it is.
  const r = await vmTest(['--kernels', 'debian-6.12,debian-6.12-rt', '--topology', '2:4,3:5', '--accel', 'tcg'], 1_200_000);
  t.equal(r.exitCode, 0, `exit status 0\n${r.all?.slice(-6000)}`);
  t.match(r.stderr, /kernel debian-6\.12: (cached|unpacked) Debian 6\.12\.\d+\+deb12-amd64 \(6\.12\.\d+-\S+\) in \S+\/debian\//, 'fetched into the cache');
  t.match(r.stderr, /presented as VMware: 6\.12 counts the empty sockets only on a hypervisor it recognises/, 'the progress says why the machine is presented as VMware');
  const matrix = await matrixReportOf(r.stderr);
  t.same(matrix.cells.map((c) => c.label).sort(), ['debian-6.12-rt-smp2-possible4', 'debian-6.12-rt-smp3-possible5', 'debian-6.12-smp2-possible4', 'debian-6.12-smp3-possible5']);
  for (const cell of matrix.cells) {
    const report = JSON.parse(await readFile(cell.report, 'utf8')) as RunReport;
    const rt = cell.label.includes('-rt-');
    t.equal(report.ok, true, `${cell.label}: ok`);
    t.match(report.kernel?.release, rt ? /^6\.12\.\d+\+deb12-rt-amd64$/ : /^6\.12\.\d+\+deb12-amd64$/);
    t.match(report.kernel?.banner, rt ? /PREEMPT_RT/ : /PREEMPT_DYNAMIC/, 'the banner says which preemption model');
    t.notMatch(report.kernel?.image ?? '', /^\/boot\//, "not the host's /boot: the cache");
    t.equal(report.boot?.mode, 'pvh', 'the zstd vmlinuz boots through its PVH entry');
    t.same(report.scenarios.map((s) => s.name), SCENARIOS.map((s) => s.name), `${cell.label}: every scenario ran`);
    t.same([report.rules?.series, report.rules?.exact], ['6.12', true], 'the 6.12 rules, read for this release');
    t.match(report.target, /^qemu tcg pc as VMware smp=\d, commands on virtio-serial$/, 'presented as VMware; virtio-console is built in');
    const possible = possibleStep(report);
    t.same([possible?.ok, possible?.predicted, possible?.observed], [true, { possible: cell.cell.possibleCpus }, { possible: cell.cell.possibleCpus }], `${cell.label}: ${cell.cell.possibleCpus} possible`);
    t.match(possible?.note, /the kernel detects a hypervisor \(vmware\), so QEMU's disabled entries count/);
    t.equal(step(report, 'cpu-unplug', /^plug a CPU: CPU \d+ is present, offline, and was possible all along$/)?.ok, true, `${cell.label}: a CPU hot-added on 6.12`);
    t.equal(step(report, 'cpu-unplug', /^CPU \d+ \(hot-added\) unplugged: the 3 references it held still counted$/)?.ok, true);
    const skipped = report.scenarios.filter((s) => s.status === 'skip').map((s) => s.name);
    t.same(skipped, [...(cell.cell.smp < 3 ? ['racing-reader'] : []), 'tracker-leak'], `${cell.label}: skips, never passes`);
  }
  t.same(await strayQemus(), [], 'no QEMU left running');
});

t.test('6.12 as QEMU is: possible = present by the rule, the hot-add half a skip that says why, a boot CPU unplugged instead', async (t) => {
  const r = await vmTest(['--kernel', 'debian-6.12', '--topology', '3:5', '--present-as', 'qemu', '--accel', 'tcg']);
  t.equal(r.exitCode, 0, `exit status 0\n${r.all?.slice(-6000)}`);
  const report = await reportOf(r.stderr);
  t.match(report.target, /^qemu tcg pc smp=3, /);
  const possible = possibleStep(report);
  t.same([possible?.ok, possible?.predicted, possible?.observed], [true, { possible: 3 }, { possible: 3 }], '3 possible, not 5');
  t.match(possible?.note, /FADT revision 1\.0.*no hypervisor the kernel recognises.*QEMU pc: MADT with 3 enabled and 2 disabled/, 'the note says the machine and the kernel decide together');
  t.match(skipOf(report, 'possible-cpus'), /^no possible CPU is absent: 6\.12: .*; --present-as vmware lets this kernel see a hypervisor and count them$/);
  t.match(skipOf(report, 'cpu-unplug'), /^hot-add not checked: the kernel makes no hot-pluggable socket possible .*; CPU 2, present since boot, is unplugged instead$/);
  t.equal(step(report, 'cpu-unplug', /^CPU 2 \(present since boot\) unplugged: the 3 references it held still counted$/)?.ok, true, "the unplugged CPU's references are still in the sum");
  t.equal(step(report, 'cpu-unplug', /left the present mask and is still possible/)?.ok, true);
  t.equal(step(report, 'cpu-unplug', /unregister still waiting/)?.ok, true);
  t.same(report.scenarios.filter((s) => s.status === 'skip').map((s) => s.name), ['tracker-leak', 'possible-cpus', 'cpu-unplug']);
});

t.test('a Debian kernel name apt does not know: a clear error before anything boots', async (t) => {
  const r = await vmTest(['--kernel', 'debian-6.12.1']);
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /apt knows no amd64 kernel 6\.12\.1 .*\n\s+fix: pick one apt has: debian-6\.12\.\d+/);
  const bad = await vmTest(['--kernel', 'debian-sid']);
  t.equal(bad.exitCode, 2);
  t.match(bad.stderr, /--kernel debian-sid: not a Debian kernel name\n\s+fix: pass debian-6\.1, debian-6\.12, debian-6\.12-rt/);
});
