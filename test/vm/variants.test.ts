/**
 * The kernel variants built from linux-source-6.1 (make kernels; built here
 * on first use, then cached): the same suite passes on each, with the
 * predictions of its own mechanism, in one matrix of parallel VMs.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import type { RunReport } from '../../src/report/report.js';
import type { StepRecord } from '../../src/scenarios/scenario.js';
import { matrixReportOf, strayQemus, vmTest } from '../vm-harness.js';

const step = (r: RunReport, scenario: string, op: RegExp): StepRecord | undefined =>
  r.scenarios.find((s) => s.name === scenario)?.steps.find((s) => op.test(s.op));

t.test('pcpu, refcount and tracker kernels each pass the suite with their own predictions', async (t) => {
  const r = await vmTest(['--kernels', 'pcpu,refcount,tracker', '--topology', '2:4'], 3_000_000);
  t.equal(r.exitCode, 0, `exit status 0\n${r.stderr.slice(-4000)}`);
  const matrix = await matrixReportOf(r.stderr);
  const cells = new Map(matrix.cells.map((c) => [c.cell.kernel, c]));
  const reports = new Map<string, RunReport>();
  for (const [name, c] of cells) reports.set(name, JSON.parse(await readFile(c.report, 'utf8')) as RunReport);
  t.same([...reports.keys()].sort(), ['pcpu', 'refcount', 'tracker']);
  const pcpu = reports.get('pcpu') as RunReport;
  const refcount = reports.get('refcount') as RunReport;
  const tracker = reports.get('tracker') as RunReport;
  t.match(pcpu.kernel?.release, /-pcpu$/, 'the variant names itself in its release');
  t.equal(pcpu.variant, 'pcpu');
  t.equal(refcount.variant, 'refcount', 'CONFIG_PCPU_DEV_REFCNT=n: the module reports a refcount_t kernel');
  t.equal(tracker.tracker, true, 'CONFIG_NET_DEV_REFCNT_TRACKER=y');

  const put = (r: RunReport): StepRecord | undefined => step(r, 'imbalance', /^put_unowned/);
  t.same(put(pcpu)?.observed, { ...(put(pcpu)?.predicted as object) }, 'pcpu: the extra put as predicted');
  t.equal((put(pcpu)?.observed as { refcnt?: number }).refcnt, 0, 'pcpu: the sum silently drops to 0');
  t.equal((put(refcount)?.observed as { refcnt?: number }).refcnt, -1073741824, 'refcount_t: saturated at INT_MIN/2');
  const warned = (r: RunReport): unknown => (step(r, 'imbalance', /^console after/)?.observed as { warnings?: string[] }).warnings;
  t.same(warned(pcpu), [], 'pcpu: not a word on the console');
  t.same(warned(refcount), ['refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c']);
  t.same(warned(tracker), ['refcount_t: decrement hit 0; leaking memory', 'WARNING at lib/refcount.c', 'WARNING at lib/ref_tracker.c'], 'the tracker warns even with per-CPU counters');
  const leak = (r: RunReport): unknown => (step(r, 'tracker-leak', /^unregister with the tracked/)?.observed as { leakReported?: boolean }).leakReported;
  t.equal(leak(tracker), true, 'tracker: "leaked reference." with the stack that took it');
  const status = (r: RunReport, name: string): unknown => r.scenarios.find((s) => s.name === name)?.status;
  t.equal(status(pcpu, 'tracker-leak'), 'skip', 'pcpu: no tracker, so the leak report is a SKIP, not a pass');
  t.equal(status(refcount, 'tracker-leak'), 'skip');
  const mem = (r: RunReport): unknown => (step(r, 'memory-cost', /^alloc \d+ devices: per-CPU bytes per device/)?.predicted as { bytesPerDevice?: number }).bytesPerDevice;
  t.equal(mem(pcpu), 16, '4 bytes x 4 per-CPU units (4 possible CPUs)');
  t.equal(mem(refcount), 0, 'a refcount_t lives in the net_device: no per-CPU memory');
  t.same(await strayQemus(), []);
});
