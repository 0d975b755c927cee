/** The run's JSON report: everything a machine (or a later human) needs. */
import type { CrashFinding } from '../crash/classify.js';
import type { Topology, Variant } from '../model/types.js';
import type { ClaimWait, StepRecord } from '../scenarios/scenario.js';

/**
 * setup: bad input or set-up (exit 2); guest: the guest died or hung (3);
 * interrupted (130); internal: a harness bug (2); untestable: the kernel
 * under test or the module does not build, or the kernel refuses the module
 * (125, git bisect's "skip").
 */
export type RunErrorKind = 'setup' | 'guest' | 'interrupted' | 'internal' | 'untestable';

/**
 * pass: every check ran and matched. skip: nothing differed, but part of the
 * claim could not be checked here (too few CPUs, no tracker): never a pass.
 * fail: a reading differed from the model. crash: the kernel complained.
 * error: the scenario could not go on (a refused command, a harness bug):
 * nothing is known about the kernel, so it is neither a pass nor a fail.
 */
export type ScenarioStatus = 'pass' | 'skip' | 'fail' | 'crash' | 'error';

export interface ScenarioResult {
  name: string;
  claim: string;
  status: ScenarioStatus;
  steps: StepRecord[];
  /** Console findings during this scenario that it did not expect. */
  crashes: CrashFinding[];
  /** Why it stopped early (a refused command, a dead guest). */
  error?: string;
  /** When it began (ISO 8601; absent in older reports): KCIDB's per-test start_time. */
  startedAt?: string;
  durationMs: number;
  /** The part of durationMs spent in waits the claim needs (scenario.ts ClaimWaits); absent when none. */
  waits?: ClaimWait[];
  /** The console lines (1-based, first exclusive, last inclusive) written during it. */
  consoleLines: [number, number];
}

export interface Phases {
  build: number;
  initramfs: number;
  boot: number;
  scenarios: number;
  /** The part of scenarios spent in the waits the claims need (each scenario's waits, summed). */
  claimWaits: number;
  total: number;
}

/** Where a run came from (src/run/provenance.ts gathers it). */
export interface Provenance {
  harness: { commit: string | null; dirty: boolean | null };
  command: string[];
  qemu: string | null;
  kernelConfig: { file: string; sha256: string } | null;
  kernelGit: string | null;
  /** The kernel tree's checkout when it is a git tree (absent in older reports): KCIDB's git fields. */
  kernelCheckout?: { commit: string; repository: string | null; branch: string | null } | null;
}

export interface RunReport {
  /** The format (REPORT_SCHEMA); absent in reports of older versions. */
  schema?: string;
  tool: string;
  /** Where the run came from: harness commit, command line, QEMU, kernel config (absent in older reports). */
  provenance?: Provenance;
  /** The run's name, stable across runs: <kernel>-smpS-possibleP (absent in reports of older versions). */
  label?: string;
  /** The scenarios the run set out to run, in order: those it never reached are missing from `scenarios`. */
  planned?: string[];
  /** The stress streams' seed: --seed replays them. */
  seed: number;
  startedAt: string;
  ok: boolean;
  kernel: { image: string; kdir: string; release: string; banner: string } | null;
  /**
   * Which release's rules the model applied (model/release-rules.ts) and why;
   * mayNotHold names the scenarios whose predictions rest on rules not read
   * for this release. Absent in reports of older versions.
   */
  rules?: { series: string; readFrom: string; exact: boolean; why: string; mayNotHold?: string[] } | null;
  /** The machine's firmware as the model took it (backend/qemu/firmware.ts): QEMU runs only. */
  firmware?: string;
  variant: Variant | null;
  tracker: boolean | null;
  topology: Topology | null;
  accel: { accel: string; reason: string } | null;
  target: string | null;
  /** What QEMU was given: the bzImage or its uncompressed vmlinux (PVH). */
  boot: { path: string; mode: string; reason: string } | null;
  module: { vermagic: string; params: Record<string, string | number | boolean>; cached: boolean } | null;
  initramfs: { path: string; bytes: number; cached: boolean } | null;
  phasesMs: Partial<Phases>;
  scenarios: ScenarioResult[];
  /** Console findings outside any scenario (boot, load, unload). */
  crashes: CrashFinding[];
  /** Set when the run could not finish (setup error, timeout, interrupt). */
  error: string | null;
  /** What kind of stop `error` was: it decides the exit status. */
  errorKind: RunErrorKind | null;
  files: { dir: string; console: string; report: string; tap: string };
}

export function scenarioStatus(steps: readonly StepRecord[], crashes: readonly CrashFinding[], error: string | undefined): ScenarioStatus {
  if (crashes.length > 0) return 'crash';
  // A reading that differed before the scenario stopped is a finding about the kernel.
  if (!steps.every((s) => s.ok)) return 'fail';
  if (error) return 'error';
  return steps.some((s) => s.skip) ? 'skip' : 'pass';
}

/** The reasons a scenario was skipped, joined (its steps' skip reasons). */
export function skipReason(r: Pick<ScenarioResult, 'steps'>): string {
  return r.steps
    .filter((s) => s.skip)
    .map((s) => s.skip)
    .join('; ');
}

/** Statuses that do not fail a run: a skip is reported apart, but is not a failure. */
export const isPassOrSkip = (s: ScenarioStatus): boolean => s === 'pass' || s === 'skip';
