import t from 'tap';
import type { RunReport } from '../../src/report/report.js';
import { junitXml, xmlText } from '../../src/report/junit.js';
import { kcidbDocument } from '../../src/report/kcidb.js';
import { parseVmTestArgs } from '../../src/cli/vm-test-args.js';
import { SCENARIOS } from '../../src/scenarios/index.js';
import type { FinishedRun } from '../../src/report/results.js';
import { fixture, repoRoot } from '../fixtures.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { kcidbValidator } from '../kcidb-schema.js';

const run = (label: string): FinishedRun => ({
  label,
  report: JSON.parse(fixture(`runs/${label}/report.json`)) as RunReport,
  console: fixture(`runs/${label}/console.log`).split('\n'),
});
const passing = run('refcount-unpatched-smp3-possible4');
const hung = run('refcount-hold-lost-update-smp3-possible4');
// The suite as it was when the fixtures were recorded: the passing run reached every scenario of it.
const suite = passing.report.scenarios.map((s) => ({ name: s.name, claim: s.claim }));

/** Every element closed in order, every attribute quoted: the XML is well formed. */
function wellFormed(xml: string): string | null {
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^>]*\?>\n/, '');
  for (const m of body.matchAll(/<(\/?)([a-z-]+)((?:\s+[a-z]+="[^"<]*")*)\s*(\/?)>|<|>/g)) {
    if (m[0] === '<' || m[0] === '>') return `stray "${m[0]}" at ${m.index}`;
    const [, close, name, , self] = m;
    if (self) continue;
    if (!close) stack.push(name as string);
    else if (stack.pop() !== name) return `</${name}> closes the wrong element at ${m.index}`;
  }
  return stack.length ? `unclosed: ${stack.join(', ')}` : null;
}

t.test('JUnit: a testsuite per run, a testcase per scenario of the suite, the verdicts CI reporters know', async (t) => {
  const xml = junitXml([passing, hung], suite);
  t.equal(wellFormed(xml), null, 'well-formed');
  const suites = [...xml.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)" errors="(\d+)" skipped="(\d+)"/g)].map((m) => m.slice(1));
  t.same(suites, [
    // A testcase per scenario; the run itself (run-level) only where it failed.
    ['refcount-unpatched-smp3-possible4', String(suite.length), '0', '0', '1'],
    // racing-reader: the kernel complained; it hung in the unregister after (run-level: the guest stopped), so 15 scenarios never ran.
    ['refcount-hold-lost-update-smp3-possible4', String(suite.length + 1), '2', String(suite.length - 5), '0'],
  ]);
  t.match(xml, /<testcase classname="refprobe.refcount-unpatched-smp3-possible4" name="lifecycle" time="[\d.]+"\/>/, 'a pass is a bare testcase');
  t.match(xml, /name="tracker-leak" time="[\d.]+">\n\s+<skipped message="no reference tracker in this kernel/, 'a skip says why');
  t.match(xml, /name="racing-reader"[^>]*>\n\s+<failure message="the kernel complained: unregister_netdevice: waiting for rprace0[^"]*" type="kernel">/);
  t.match(xml, /-   &quot;outsideTrueRange&quot;: 0,\n-   &quot;withinEnvelope&quot;: true\n\+   &quot;outsideTrueRange&quot;: 3530294,/, 'the failure carries the diff');
  t.match(xml, /<system-out>unregister_netdevice: waiting for rprace0 to become free. Usage count = 7449/, 'and the console lines of the scenario');
  t.match(xml, /name="stress"[^>]*>\n\s+<error message="the run stopped before it: no answer within 20 s[^"]*" type="not-run">/, 'a scenario never reached is an error, not a pass');
  t.match(xml, /<property name="kernel" value="6.1.192-refcount"\/>/);
  t.equal(xmlText('a<b>&"\u0007\u001b[0m'), 'a&lt;b&gt;&amp;&quot;[0m', 'escaped; console control codes dropped');
});

t.test('JUnit: valid under Jenkins\' xunit schema, and read with the same counts by python3-junitparser', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-junit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'junit.xml');
  await writeFile(file, junitXml([passing, hung], suite));
  const lint = await execa('xmllint', ['--noout', '--schema', path.join(repoRoot, 'test/fixtures/junit/junit-10.xsd'), file], { reject: false });
  t.equal(lint.exitCode, 0, `xmllint --schema junit-10.xsd: ${lint.stderr}`);
  const read = await execa('/usr/bin/python3', ['-c', [
    'import sys, junitparser',
    'x = junitparser.JUnitXml.fromfile(sys.argv[1])',
    'for s in x: print(s.name, s.tests, s.failures, s.errors, s.skipped, sum(1 for _ in s))',
  ].join('\n'), file], { reject: false });
  t.equal(read.exitCode, 0, read.stderr);
  t.same(read.stdout.trim().split('\n'), [
    `refcount-unpatched-smp3-possible4 ${suite.length} 0 0 1 ${suite.length}`,
    `refcount-hold-lost-update-smp3-possible4 ${suite.length + 1} 2 ${suite.length - 5} 0 ${suite.length + 1}`,
  ], 'a passing run: as many tests as the harness\'s summary counts scenarios');
  // Without the fix the schema refuses the file: the same document with `skipped` on <testsuites>.
  await writeFile(file, junitXml([passing, hung], suite).replace(/<testsuites ([^>]*)>/, '<testsuites $1 skipped="1">'));
  t.not((await execa('xmllint', ['--noout', '--schema', path.join(repoRoot, 'test/fixtures/junit/junit-10.xsd'), file], { reject: false })).exitCode, 0, 'the schema does refuse what Jenkins would');
});

t.test('KCIDB: valid against KernelCI\'s v5.3 schema, statuses PASS/FAIL/SKIP/MISS, a path per scenario', async (t) => {
  const validate = kcidbValidator();
  t.ok(validate(JSON.parse(fixture('kcidb/minimal-valid-example.json'))), 'the validator accepts the schema\'s own valid example');
  t.notOk(validate({ version: { major: 5, minor: 3 }, tests: [{ id: 'x', origin: 'refprobe', build_id: 'refprobe:b', status: 'GOOD' }] }), 'and refuses a bad id and status');
  const doc = kcidbDocument([passing, hung], suite, { origin: 'refprobe', submission: '20261201-060733-10481' });
  t.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
  // The mutant is patched source built again: a checkout and a build of its own.
  t.equal(doc.checkouts.length, 2, 'a checkout per kernel banner');
  t.same(doc.builds.map((b) => b.config_name), ['refcount', 'refcount'], 'a build per kernel');
  t.not(doc.tests.find((x) => x.status === 'FAIL')?.build_id, doc.tests[0]?.build_id, 'the mutant\'s tests name its build');
  t.equal(doc.tests.length, 2 * (suite.length + 1));
  const status = (label: string, name: string): string | undefined => doc.tests.find((x) => x.id === `refprobe:20261201-060733-10481.${label}.${name}`)?.status;
  t.equal(status('refcount-unpatched-smp3-possible4', 'lifecycle'), 'PASS');
  t.equal(status('refcount-unpatched-smp3-possible4', 'tracker-leak'), 'SKIP');
  t.equal(status('refcount-hold-lost-update-smp3-possible4', 'racing-reader'), 'FAIL');
  t.equal(status('refcount-hold-lost-update-smp3-possible4', 'stress'), 'MISS');
  t.same([...new Set(doc.tests.map((x) => x.path))], [...suite.map((s) => `refprobe.${s.name}`), 'refprobe.run-level'], 'the same path in every run: trackable over time');
  t.equal(status('refcount-hold-lost-update-smp3-possible4', 'run-level'), 'FAIL', 'the guest that stopped answering fails the run, not only a scenario');
  t.equal(status('refcount-unpatched-smp3-possible4', 'run-level'), 'PASS');
  const fail = doc.tests.find((x) => x.status === 'FAIL');
  t.match(fail?.log_excerpt, /outsideTrueRange/);
  t.match(fail?.log_url, /^file:\/\/\/.*console\.log$/, 'without --artifacts-url: a file URL of this host');
  t.match(fail?.output_files?.[0]?.url, /^file:\/\/\/.*report\.json$/);
});

t.test('KCIDB as a CI submits it: its origin, the tree\'s git checkout, each scenario\'s start, logs under the published URL', async (t) => {
  const validate = kcidbValidator();
  const commit = 'a'.repeat(40);
  const withGit = (x: FinishedRun, repository: string | null, start: string): FinishedRun => ({
    ...x,
    report: {
      ...x.report,
      provenance: { harness: { commit: null, dirty: null }, command: [], qemu: null, kernelConfig: null, kernelGit: 'v6.1-1-gaaaa', kernelCheckout: { commit, repository, branch: 'net-next' } },
      scenarios: x.report.scenarios.map((s, i) => ({ ...s, startedAt: new Date(Date.parse(start) + i * 1000).toISOString() })),
    },
  });
  const outDir = path.dirname(path.dirname(passing.report.files.console));
  const doc = kcidbDocument([withGit(passing, 'https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git', '2026-12-01T06:00:00.000Z'), withGit(hung, 'git@example.org:me/linux.git', '2026-12-01T07:00:00.000Z')], suite, {
    origin: 'my_lab',
    submission: 's1',
    artifacts: { baseUrl: 'https://ci.example.org/job/42/artifacts/out/', outDir },
  });
  t.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5), null, 2));
  t.ok(doc.tests.every((x) => x.origin === 'my_lab' && x.id.startsWith('my_lab:')), 'every object carries the origin given');
  t.equal(doc.checkouts[0]?.git_commit_hash, commit);
  t.equal(doc.checkouts[0]?.git_repository_url, 'https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git');
  t.equal(doc.checkouts[0]?.git_repository_branch, 'net-next');
  t.equal(doc.checkouts[1]?.git_repository_url, undefined, 'an ssh remote is no https URL: left out (the schema allows https only), kept in misc');
  t.equal(doc.checkouts[1]?.misc?.repository, 'git@example.org:me/linux.git');
  const starts = doc.tests.filter((x) => x.id.includes('.refcount-unpatched-smp3-possible4.') && x.path !== 'refprobe.run-level').map((x) => x.start_time);
  t.equal(new Set(starts).size, starts.length, 'each scenario its own start time');
  t.equal(starts[1], '2026-12-01T06:00:01.000Z');
  const log = doc.tests[0]?.log_url ?? '';
  t.equal(log, `https://ci.example.org/job/42/artifacts/out/${path.relative(outDir, passing.report.files.console)}`, 'the log under the published URL');
  t.throws(() => parseVmTestArgs(['--kcidb-origin', 'My-Lab'], SCENARIOS), /--kcidb-origin My-Lab is not \[a-z0-9_\]\+/);
  t.throws(() => parseVmTestArgs(['--artifacts-url', '/srv/out'], SCENARIOS), /not an http\(s\) URL/);
});
