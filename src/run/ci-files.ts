/**
 * Writes the CI formats a run was asked for (--junit FILE, --kcidb FILE)
 * from the reports and console logs it left. Thin I/O around the pure
 * writers in src/report/junit.ts and src/report/kcidb.ts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunReport } from '../report/report.js';
import { junitXml } from '../report/junit.js';
import { kcidbDocument } from '../report/kcidb.js';
import type { FinishedRun } from '../report/results.js';
import type { Scenario } from '../scenarios/scenario.js';
import { writeOutput } from './outputs.js';

export interface CiFiles {
  junit: string | null;
  kcidb: string | null;
  /** KCIDB's origin (--kcidb-origin), default refprobe. */
  kcidbOrigin?: string;
  /** Where the run directories under outDir are published (--artifacts-url): the logs' URLs in KCIDB. */
  artifactsUrl?: string | null;
  /** The --out the run directories are under: a log's URL is its path below it. */
  outDir: string;
}

/** A run as the CI writers need it; a console log that cannot be read leaves the excerpts empty, nothing worse. */
export async function finishedRun(label: string, reportFile: string, inMemory?: RunReport): Promise<FinishedRun> {
  // The run's own report when this process ran it: its file may not have reached a full disk.
  const report = inMemory ?? (JSON.parse(await readFile(reportFile, 'utf8')) as RunReport);
  // The console log beside the report when the run's directory moved since (a CI artifact).
  const text = await readFile(report.files.console, 'utf8').catch(() => readFile(path.join(path.dirname(reportFile), 'console.log'), 'utf8').catch(() => ''));
  const console = text.split('\n');
  return { label, report, console };
}

export async function writeCiFiles(files: CiFiles, runs: readonly FinishedRun[], suite: readonly Scenario[], submission: string, progress: (l: string) => void): Promise<void> {
  const s = suite.map((x) => ({ name: x.name, claim: x.claim }));
  if (files.junit) {
    if (await writeOutput(files.junit, junitXml(runs, s), progress)) progress(`JUnit XML:   ${files.junit}`);
  }
  if (files.kcidb) {
    if (await writeOutput(files.kcidb, `${JSON.stringify(kcidbDocument(runs, s, { origin: files.kcidbOrigin ?? 'refprobe', submission, artifacts: files.artifactsUrl ? { baseUrl: files.artifactsUrl, outDir: files.outDir } : null }), null, 2)}\n`, progress)) progress(`KCIDB JSON:  ${files.kcidb}`);
  }
}
