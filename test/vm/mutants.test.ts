/**
 * make mutants: the unpatched kernel passes, and every mutant kernel in
 * vm/mutants/ is killed by a named scenario. This is the proof that each
 * check can fail on a wrong kernel, not just on a wrong module.
 */
import t from 'tap';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../fixtures.js';
import { loadMutants } from '../../src/run/mutants.js';
import { strayQemus } from '../vm-harness.js';

t.test('every mutant kernel is killed, the unpatched one passes', async (t) => {
  const mutants = await loadMutants(repoRoot);
  t.ok(mutants.length >= 6, `${mutants.length} mutants`);
  const r = await execa('node', [path.join(repoRoot, 'dist/harness/mutants.js')], { reject: false, all: true, timeout: 3_300_000 });
  t.equal(r.exitCode, 0, `exit status 0\n${r.all?.slice(-5000)}`);
  t.match(r.stdout, /^\| unpatched \| passed \| - \|/m, 'the unpatched kernel passes in the same run');
  for (const m of mutants) t.match(r.stdout, new RegExp(`^\\| ${m.name} \\| killed \\| [a-z-]+ \\|`, 'm'), `${m.name}: killed by a named scenario`);
  t.same(await strayQemus(), []);
});
