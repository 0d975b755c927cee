import t from 'tap';
import { parseMutant, touchesHeader } from '../../src/kernel/mutant.js';
import { parseKconfig, unmetOptions } from '../../src/kernel/config.js';
import { makefileVersion } from '../../src/kernel/source.js';
import { mutantTable, unprovenScenarios } from '../../src/report/mutant-table.js';
import type { RunReport } from '../../src/report/report.js';
import { loadMutants } from '../../src/run/mutants.js';
import { firstDifference, mutantsOk, mutantVerdict, type MutantOutcome } from '../../src/report/mutants-report.js';
import { mutantKey } from '../../src/kernel/mutant.js';
import { VARIANT_NAMES } from '../../src/kernel/variants.js';
import { scenarioKills } from '../../src/report/mutant-table.js';
import { repoRoot } from '../fixtures.js';

const o = (name: string, verdict: MutantOutcome['verdict'], failing: string[], kernel: MutantOutcome['kernel'] = 'pcpu'): MutantOutcome => ({
  name, kernel, what: '', verdict, killedBy: failing[0] ?? null, failing, differed: failing.length ? 'x' : null, buildSeconds: 1, runSeconds: 2, report: null,
});

t.test('the mutants in vm/mutants/<variant>/: each says what it breaks and patches its release\'s source', async (t) => {
  const ms = await loadMutants(repoRoot);
  t.ok(ms.length >= 6, `${ms.length} mutants`);
  for (const m of ms) {
    t.ok(m.what.length > 20, `${m.variant}/${m.name}: ${m.what}`);
    t.ok(m.files.every((f) => /^(net\/core\/dev\.c|include\/linux\/netdevice\.h|arch\/x86\/kernel\/smpboot\.c|arch\/x86\/kernel\/acpi\/boot\.c|arch\/x86\/kernel\/cpu\/topology\.c|arch\/arm64\/kernel\/smp\.c)$/.test(f)), `${m.name} patches ${m.files.join(', ')}`);
  }
  for (const v of ['pcpu', 'refcount', 'tracker', 'pcpu-6.12', 'tracker-6.12', 'pcpu-arm64']) t.ok(ms.some((m) => m.variant === v), `the ${v} variant has mutants`);
  // Every 6.1 pcpu mutant has its 6.12 counterpart, or a file that says why it does not apply there.
  const of = (v: string): string[] => ms.filter((m) => m.variant === v).map((m) => m.name).sort();
  t.same(of('pcpu').filter((n) => !of('pcpu-6.12').includes(n)), [], 'every pcpu bug has a pcpu-6.12 file');
  for (const m of ms.filter((x) => x.notApplicable)) t.match(m.what, /does not apply/, `${mutantKey(m)} says why it does not apply`);
  // Per variant, the .c mutants run before the header ones, which share their rebuilds.
  const order = ms.map((m) => `${VARIANT_NAMES.indexOf(m.variant)}:${touchesHeader(m) ? 1 : 0}`);
  t.same(order, [...order].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
  t.throws(() => parseMutant('x', 'pcpu', 'no diff here\n'), /not a unified diff/);
  t.throws(() => parseMutant('x', 'pcpu', '--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n'), /must start with a paragraph/);
  const na = parseMutant('x', 'pcpu-6.12', 'The bug does not apply to 6.12: the function is gone.\n');
  t.same([na.notApplicable, na.files, mutantKey(na)], [true, [], 'pcpu-6.12/x'], 'a paragraph that says why, and no diff: not applicable');
  const diff = '--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n';
  t.equal(parseMutant('x', 'pcpu-6.12', `A bug seen as QEMU is.\n\nPresent-as: qemu\n\n${diff}`).presentAs, 'qemu', 'the machine it is judged on');
  t.equal(parseMutant('x', 'pcpu-6.12', `A bug.\n\n${diff}`).presentAs, undefined, 'the default machine otherwise');
  t.throws(() => parseMutant('x', 'pcpu-6.12', `A bug.\n\nPresent-as: kvm\n\n${diff}`), /"Present-as: kvm" is not qemu or vmware/);
  t.equal(ms.find((m) => mutantKey(m) === 'pcpu-6.12/disabled-cpus-usable')?.presentAs, 'qemu', 'the no-hypervisor branch of the 6.12 rule is judged as QEMU is');
});

t.test('mutants of two releases share names: planned and judged by variant/name', async (t) => {
  const killed = (name: string, kernel: MutantOutcome['kernel']): MutantOutcome => o(name, 'killed', ['possible-cpus'], kernel);
  const base = (kernel: MutantOutcome['kernel']): MutantOutcome => ({ ...o('unpatched', 'passed', []), kernel });
  const outcomes = [base('pcpu'), killed('sum-online-only', 'pcpu'), base('pcpu-6.12'), { ...o('possible-is-present', 'not-applicable', []), kernel: 'pcpu-6.12' as const }];
  t.ok(mutantsOk(outcomes, ['pcpu/sum-online-only', 'pcpu-6.12/possible-is-present']), 'not applicable is no survivor');
  t.notOk(mutantsOk(outcomes, ['pcpu/sum-online-only', 'pcpu-6.12/sum-online-only']), 'the 6.12 one was never judged');
  t.notOk(mutantsOk([...outcomes, o('x', 'survived', [], 'pcpu-6.12')], ['pcpu-6.12/x']));
});

t.test('a mutant its architecture cannot show must survive there; its twin must die', async (t) => {
  const ms = await loadMutants(repoRoot);
  const x86 = ms.find((m) => mutantKey(m) === 'pcpu/raw-cpu-inc');
  const arm = ms.find((m) => mutantKey(m) === 'pcpu-arm64/raw-cpu-inc');
  t.match(x86?.survives, /same single `incl %gs:` instruction/, 'the x86-64 one says why it survives');
  t.equal(arm?.survives, undefined, 'the arm64 one must be killed');
  t.same(x86?.files, arm?.files, 'the same patch');
  t.equal(ms.find((m) => mutantKey(m) === 'pcpu-6.12/raw-cpu-inc')?.notApplicable, true);
  const base = { ...o('unpatched', 'passed', []), kernel: 'pcpu' as const };
  const survivor = { ...o('raw-cpu-inc', 'survived', []), survives: 'same instruction' };
  t.ok(mutantsOk([base, survivor], ['pcpu/raw-cpu-inc']), 'survived, as predicted: ok');
  t.notOk(mutantsOk([base, { ...survivor, verdict: 'killed', killedBy: 'stress' }], ['pcpu/raw-cpu-inc']), 'killed where it cannot differ: the suite saw what is not there');
  t.notOk(mutantsOk([base, { ...survivor, verdict: 'error' }], ['pcpu/raw-cpu-inc']), 'an error proves nothing either way');
  const table = mutantTable([base, survivor]);
  t.match(table, /\| raw-cpu-inc \| pcpu \| survived \(as predicted\) \| - \| same instruction \|/);
  t.match(mutantTable([{ ...survivor, verdict: 'killed', killedBy: 'stress', differed: 'x' }]), /killed \(predicted to survive\) \| stress/);
});

t.test('kernel config: requested options Kconfig dropped are named', async (t) => {
  const want = parseKconfig('CONFIG_PVH=y\n# CONFIG_PCPU_DEV_REFCNT is not set\nCONFIG_NR_CPUS=64\nCONFIG_LOCALVERSION="-pcpu"\n');
  const got = parseKconfig('CONFIG_NR_CPUS=64\nCONFIG_LOCALVERSION="-pcpu"\nCONFIG_PCPU_DEV_REFCNT=y\n');
  t.same(unmetOptions(want, got), [
    { option: 'CONFIG_PVH', wanted: 'y', got: 'n' },
    { option: 'CONFIG_PCPU_DEV_REFCNT', wanted: 'n', got: 'y' },
  ]);
  t.equal(makefileVersion('VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\n'), '6.1.192');
});

const run = (scenarios: Partial<RunReport['scenarios'][number]>[]): RunReport => ({ scenarios, crashes: [], error: null }) as unknown as RunReport;

t.test('a failed run: the first scenario that failed, and what differed there', async (t) => {
  const r = run([
    { name: 'lifecycle', status: 'pass', steps: [], crashes: [] },
    { name: 'cpu-hotplug', status: 'fail', steps: [{ op: 'CPU 1 offline', ok: false, predicted: {}, observed: {}, diff: '--- expected\n+++ observed\n-   "refcnt": 11,\n+   "refcnt": 8,' }], crashes: [] },
  ]);
  t.same(firstDifference(r), { scenario: 'cpu-hotplug', differed: 'CPU 1 offline: - "refcnt": 11, + "refcnt": 8,' });
  t.same(firstDifference(run([{ name: 'unregister-held', status: 'crash', steps: [], crashes: [{ kind: 'bug', title: 'BUG: kernel BUG at net/core/dev.c:10567!', line: 1, excerpt: '' }] }])), {
    scenario: 'unregister-held',
    differed: 'kernel: BUG: kernel BUG at net/core/dev.c:10567!',
  });
  t.equal(firstDifference(run([{ name: 'a', status: 'pass', steps: [], crashes: [] }])), null);
  // possible-is-present: cpu-unplug could not plug a CPU (an error, no evidence), possible-cpus read the wrong mask.
  const killedLater = run([
    { name: 'cpu-unplug', status: 'error', error: 'waited 30 s for a new CPU in the present mask', steps: [], crashes: [] },
    { name: 'possible-cpus', status: 'fail', steps: [{ op: 'possible CPUs', ok: false, predicted: {}, observed: {}, diff: '-   "possible": 4\n+   "possible": 3' }], crashes: [] },
  ]);
  t.same(firstDifference(killedLater), { scenario: 'possible-cpus', differed: 'possible CPUs: - "possible": 4 + "possible": 3' }, 'the kill is named by the evidence, not by an earlier error');
});

t.test('the table and the scenarios no mutant proves', async (t) => {
  const outcomes = [o('unpatched', 'passed', []), o('m1', 'killed', ['cpu-hotplug', 'stress']), o('m2', 'survived', []), o('unpatched', 'passed', [], 'tracker'), o('t1', 'killed', ['tracker-leak'], 'tracker')];
  t.match(mutantTable(outcomes), /^\| m1 \| pcpu \| killed \| cpu-hotplug \| x \| stress \| 1 s \| 2 s \|$/m);
  t.match(mutantTable(outcomes), /^\| m2 \| pcpu \| survived \| - \| - \| - \|/m);
  t.match(mutantTable(outcomes), /^\| unpatched \| tracker \| passed \|/m, 'every variant has its unpatched row');
  t.same(unprovenScenarios(outcomes, ['lifecycle', 'cpu-hotplug', 'stress', 'tracker-leak']), ['lifecycle']);
});

t.test('a mutant is killed only by evidence about the kernel, never by an error of the run', async (t) => {
  const r = (over: Partial<RunReport>): RunReport => ({ scenarios: [], crashes: [], error: null, errorKind: null, ...over }) as unknown as RunReport;
  const sc = (name: string, status: string) => ({ name, status, steps: [], crashes: [] });
  t.equal(mutantVerdict(r({ scenarios: [sc('a', 'pass'), sc('b', 'fail')] } as never)), 'killed', 'a reading differed');
  t.equal(mutantVerdict(r({ scenarios: [sc('a', 'crash')] } as never)), 'killed', 'the kernel complained');
  t.equal(mutantVerdict(r({ error: 'no answer within 20 s', errorKind: 'guest' })), 'killed', 'the guest hung or died');
  t.equal(mutantVerdict(r({ error: 'the kernel refused the module', errorKind: 'setup' })), 'error', 'set-up: proves nothing');
  t.equal(mutantVerdict(r({ error: 'TypeError: x', errorKind: 'internal' })), 'error', 'a harness bug: proves nothing');
  t.equal(mutantVerdict(r({ scenarios: [sc('a', 'pass'), sc('b', 'error')] } as never)), 'error', 'a refused command: proves nothing');
  t.equal(mutantVerdict(r({ scenarios: [sc('a', 'pass'), sc('b', 'skip')] } as never)), 'survived');
  const table = scenarioKills([o('unpatched', 'passed', []), o('m1', 'killed', ['a', 'b']), o('m2', 'killed', ['b']), o('m3', 'error', [])], ['a', 'b', 'c']);
  t.match(table, /^\| a \| 1 \| m1 \|$/m);
  t.match(table, /^\| b \| 2 \| m1, m2 \|$/m);
  t.match(table, /^\| c \| 0 \| \*\*none\*\* \|$/m, 'a check no mutant proves stands out');
});

t.test('make merge of make mutants shards: each mutant once, in the planned order, the verdict over all', async (t) => {
  const { mergeMutantShards } = await import('../../src/run/merge.js');
  const { shardOf } = await import('../../src/run/shard.js');
  const { mutantsResult } = await import('../../src/report/mutant-table.js');
  const ms = await loadMutants(repoRoot);
  const planned = ms.map(mutantKey);
  const outcome = (name: string, kernel: MutantOutcome['kernel'], verdict: MutantOutcome['verdict']): MutantOutcome => ({ name, kernel, what: name, verdict, killedBy: verdict === 'killed' ? 'extremes' : null, failing: verdict === 'killed' ? ['extremes'] : [], differed: null, buildSeconds: 1, runSeconds: 1, report: null });
  const shardReport = (k: number, n: number, verdictOf = (_: string): MutantOutcome['verdict'] => 'killed', fingerprint = 'f') => {
    const mine = shardOf(ms, { k, n });
    const variants = [...new Set(mine.map((m) => m.variant))];
    const outcomes = variants.flatMap((v) => [outcome('unpatched', v, 'passed'), ...mine.filter((m) => m.variant === v).map((m) => outcome(m.name, v, verdictOf(mutantKey(m))))]);
    return { where: `shard${k}`, report: { ok: true, shard: { k, n }, planned, fingerprint, seed: 7, failFast: false, outcomes } };
  };
  const merged = mergeMutantShards([shardReport(2, 2), shardReport(1, 2)]);
  t.ok(merged.ok, 'every mutant killed, every unpatched kernel passed');
  t.same(merged.outcomes.filter((o) => o.name !== 'unpatched').map(mutantKey), planned, 'each mutant once, in the unsharded order');
  t.equal(merged.shard, null);
  t.equal(merged.seed, 7);
  const bases = merged.outcomes.filter((o) => o.name === 'unpatched');
  t.ok(bases.length >= 3, `every shard's unpatched runs are kept (${bases.length})`);
  t.equal(merged.outcomes[0]?.name, 'unpatched', 'a variant\'s unpatched runs come before its mutants');
  const survivor = planned[3] as string;
  const bad = mergeMutantShards([shardReport(1, 2, (n) => (n === survivor ? 'survived' : 'killed')), shardReport(2, 2, (n) => (n === survivor ? 'survived' : 'killed'))]);
  t.notOk(bad.ok, 'a mutant that survived in any shard fails the merged run');
  const result = mutantsResult(bad.outcomes, bad.ok, { failFast: false, scenarios: ['extremes', 'lifecycle'], seed: 7, where: 'x', tool: 'merge' });
  t.equal(result.exit, 1);
  t.match(result.stderr, new RegExp(`merge: FAIL: .*; ${planned.length - 1}/${planned.length} mutants killed \\(seed 7\\)`));
  t.match(result.stdout, /\| lifecycle \| 0 \| \*\*none\*\* \|/, 'the per-scenario table');
  t.throws(() => mergeMutantShards([shardReport(1, 3), shardReport(2, 3)]), /shard\(s\) 3\/3 missing/);
  t.throws(() => mergeMutantShards([shardReport(1, 2), shardReport(2, 2, undefined, 'other')]), /ran with different options/);
});
