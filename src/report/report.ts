/** The run's JSON report: everything a machine (or a later human) needs. */
import type { CrashFinding } from '../crash/classify.js';
import type { Topology, Variant } from '../model/types.js';
import type { StepRecord } from '../scenarios/scenario.js';

/** setup: bad input or set-up (exit 2); guest: the guest died or hung (3); interrupted (130); internal: a harness bug (2). */
export type RunErrorKind = 'setup' | 'guest' | 'interrupted' | 'internal';

export type ScenarioStatus = 'pass' | 'fail' | 'crash' | 'error';

export interface ScenarioResult {
  name: string;
  claim: string;
  status: ScenarioStatus;
  steps: StepRecord[];
  /** Console findings during this scenario that it did not expect. */
  crashes: CrashFinding[];
  /** Why it stopped early (a refused command, a dead guest). */
  error?: string;
  durationMs: number;
  /** The console lines (1-based, first exclusive, last inclusive) written during it. */
  consoleLines: [number, number];
}

export interface Phases {
  build: number;
  initramfs: number;
  boot: number;
  scenarios: number;
  total: number;
}

export interface RunReport {
  tool: string;
  /** The stress streams' seed: --seed replays them. */
  seed: number;
  startedAt: string;
  ok: boolean;
  kernel: { image: string; kdir: string; release: string; banner: string } | null;
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
  // A mismatch is the cause when a later command was refused because of it.
  if (!steps.every((s) => s.ok)) return 'fail';
  return error ? 'error' : 'pass';
}
