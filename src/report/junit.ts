/**
 * JUnit XML for CI systems (GitLab's and GitHub's test reports): one
 * testsuite per run (kernel x topology), one testcase per scenario of the
 * suite. A differing reading or a kernel complaint is a <failure> with the
 * diff; a scenario that could not go on, or that the run never reached, is
 * an <error>; a skip is <skipped> with its reason. Pure.
 */
import { RUN_LEVEL, scenarioOutcomes, type FinishedRun, type ScenarioOutcome } from './results.js';

/** Escapes text for XML and drops the characters XML 1.0 cannot carry (console control codes). */
export function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const attr = (k: string, v: string | number): string => `${k}="${xmlText(String(v))}"`;
const secs = (s: number): string => s.toFixed(3);

function testcase(label: string, o: ScenarioOutcome): string {
  const head = `    <testcase ${attr('classname', `refprobe.${label}`)} ${attr('name', o.name)} ${attr('time', secs(o.duration))}>`;
  const body: string[] = [];
  const msg = o.message.slice(0, 1000);
  if (o.verdict === 'fail' || o.verdict === 'crash') body.push(`      <failure ${attr('message', msg)} ${attr('type', o.verdict === 'fail' ? 'mismatch' : 'kernel')}>${xmlText(o.detail)}</failure>`);
  else if (o.verdict === 'error' || o.verdict === 'not-run') body.push(`      <error ${attr('message', msg)} ${attr('type', o.verdict)}>${xmlText(o.detail)}</error>`);
  else if (o.verdict === 'skip') body.push(`      <skipped ${attr('message', msg)}/>`);
  if (o.consoleExcerpt) body.push(`      <system-out>${xmlText(o.consoleExcerpt)}</system-out>`);
  return body.length ? [head, ...body, '    </testcase>'].join('\n') : `${head.slice(0, -1)}/>`;
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: number;
}

function counts(os: readonly ScenarioOutcome[]): Counts {
  return {
    tests: os.length,
    failures: os.filter((o) => o.verdict === 'fail' || o.verdict === 'crash').length,
    errors: os.filter((o) => o.verdict === 'error' || o.verdict === 'not-run').length,
    skipped: os.filter((o) => o.verdict === 'skip').length,
    time: os.reduce((a, o) => a + o.duration, 0),
  };
}

const countAttrs = (c: Counts): string => [attr('tests', c.tests), attr('failures', c.failures), attr('errors', c.errors), attr('skipped', c.skipped), attr('time', secs(c.time))].join(' ');
/** Jenkins' xunit schema (junit-10.xsd) allows no `skipped` on <testsuites>: the skips are counted per testsuite only. */
const totalAttrs = (c: Counts): string => [attr('tests', c.tests), attr('failures', c.failures), attr('errors', c.errors), attr('time', secs(c.time))].join(' ');

export function junitXml(runs: readonly FinishedRun[], suite: readonly { name: string; claim: string }[]): string {
  const all: ScenarioOutcome[] = [];
  const suites = runs.map((run) => {
    // The run itself is a testcase only when it failed (a complaint outside every scenario, a dead guest):
    // a passing run then counts as many tests as the harness's own summary.
    const os = scenarioOutcomes(run, suite).filter((o) => o.name !== RUN_LEVEL || o.verdict !== 'pass');
    all.push(...os);
    const r = run.report;
    const props: [string, string][] = [
      ['kernel', r.kernel?.release ?? 'unknown'],
      ['variant', `${r.variant ?? 'unknown'}${r.tracker ? '+tracker' : ''}`],
      ['target', r.target ?? 'unknown'],
      ['seed', String(r.seed)],
      ['console', r.files.console],
      ['report', r.files.report],
    ];
    if (r.error) props.push(['run-error', r.error.split('\n')[0] ?? r.error]);
    return [
      `  <testsuite ${attr('name', run.label)} ${countAttrs(counts(os))} ${attr('timestamp', r.startedAt.replace(/\.\d+Z$/, ''))}>`,
      '    <properties>',
      ...props.map(([k, v]) => `      <property ${attr('name', k)} ${attr('value', v)}/>`),
      '    </properties>',
      ...os.map((o) => testcase(run.label, o)),
      '  </testsuite>',
    ].join('\n');
  });
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites ${attr('name', 'refprobe')} ${totalAttrs(counts(all))}>`, ...suites, '</testsuites>', ''].join('\n');
}
