/**
 * The kernel's own KTAP reader reads our TAP: kunit.py parse (from the
 * linux-source-6.1 tree the variants are built from) on a saved real run
 * that failed (a 2-cell matrix, --fault hold-twice: failed, skipped and
 * passed scenarios, a scenario stopped by a refused command), and on one
 * that stopped at set-up. Before the result lines carried only the name, it
 * reported "missing subtest result line!" and nested every later scenario
 * in the failed one; before KTAP version 1, a scenario's complaints and the
 * reason it stopped were counted as failed tests of their own.
 */
import t from 'tap';
import path from 'node:path';
import { execa } from 'execa';
import { kernelSource } from '../../src/kernel/source.js';
import { SOURCES } from '../../src/kernel/variants.js';
import { repoRoot } from '../fixtures.js';

/** The kernel's own reader (linux-source-6.1's kunit.py) on a saved document. */
async function kunitParse(fixture: string): Promise<{ exitCode: number | undefined; out: string }> {
  const src = await kernelSource(SOURCES['6.1'].tarball, () => undefined);
  const kunit = path.join(src.dir, 'tools/testing/kunit/kunit.py');
  const r = await execa('python3', [kunit, 'parse', path.join(repoRoot, 'test/fixtures', fixture)], { reject: false, all: true, timeout: 60_000 });
  return { exitCode: r.exitCode, out: r.all ?? '' };
}

t.test('kunit.py parse reads a failing matrix run without a complaint', async (t) => {
  const r = await kunitParse('tap-fault-hold-twice-1x2-2x4.tap');
  const out = r.out;
  t.equal(r.exitCode, 1, 'exit 1: the run has failures, and the parser says so');
  t.notMatch(out, /missing subtest|missing expected|\[CRASHED\]|[1-9]\d* errors?\b|unexpected/i, 'no parse error, nothing taken for a crash');
  // KTAP version 1: only steps, scenarios and cells are tests; a refused command that stopped a scenario is its diagnostic.
  t.match(out, /Ran 44 tests: passed: 24, failed: 17, skipped: 3/, 'every step, scenario and cell counted once, no pseudo-step');
  t.notMatch(out, /\[(PASSED|FAILED|SKIPPED)\] (scenario stopped|kernel console)/, 'nothing but steps among the tests');
  t.match(out, /# scenario stopped: refprobe refused "unregister rphold0"/, 'why it stopped: a diagnostic kunit.py shows');
  for (const cell of ['stock-smp1-possible2', 'stock-smp2-possible4']) t.match(out, new RegExp(`\\[FAILED\\] ${cell}`), `${cell}: a test of its own`);
  t.match(out, /\[SKIPPED\] racing-reader/, 'a skipped scenario is a skip');
  t.match(out, /\[PASSED\] lifecycle/);
  // Each scenario closes at its own level: the failed one does not swallow the next.
  const order = [...out.matchAll(/\[(PASSED|FAILED|SKIPPED)\] (lifecycle|hold-put-every-cpu|racing-reader|extremes)\s/g)].map((m) => m[2]);
  t.same(order, ['lifecycle', 'hold-put-every-cpu', 'racing-reader', 'extremes', 'lifecycle', 'hold-put-every-cpu', 'racing-reader', 'extremes']);
});

t.test('kunit.py parse reads the document of a run that stopped at set-up: every scenario listed, the run not green, no false failures', async (t) => {
  const r = await kunitParse('tap-setup-failure.tap');
  const out = r.out;
  t.notMatch(out, /missing subtest|missing expected|\[CRASHED\]|unexpected/i, 'no parse error');
  t.equal(r.exitCode, 1, 'kunit.py exits 1: the run did not pass');
  t.match(out, /Ran 4 tests: failed: 2, skipped: 2/, 'per run (a 2-cell matrix): the plan kept, the first scenario fails for the run, the other is a skip kunit.py knows');
  t.match(out, /\[FAILED\] lifecycle/);
  t.match(out, /\[SKIPPED\] extremes/);
});
