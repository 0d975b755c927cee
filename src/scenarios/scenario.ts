/**
 * What a scenario is and how its steps are judged. A step is one operation
 * on the kernel followed by one reading, compared with the model's
 * prediction; a mismatch is recorded with its diff and the scenario goes on,
 * so one run shows every place kernel and model part.
 */
import type { CrashKind } from '../crash/classify.js';
import { DeviceModel, observe } from '../model/device.js';
import type { RulesChoice } from '../model/release-rules.js';
import type { MachineFacts } from '../backend/target.js';
import type { DeviceReading, Prediction } from '../model/types.js';
import type { ProbeInfo } from '../probe/parse.js';
import type { RefProbe } from '../probe/client.js';
import { readableDiff } from '../model/diff.js';

export interface StepRecord {
  op: string;
  cpu?: number;
  ok: boolean;
  predicted: Prediction | Record<string, unknown>;
  observed: Prediction | Record<string, unknown>;
  diff?: string;
  note?: string;
  /** Set when the step could not run here (e.g. needs more CPUs). */
  skip?: string;
}

export interface ScenarioContext {
  probe: RefProbe;
  info: ProbeInfo;
  steps: Steps;
  /** Times the waits the claim itself needs, so a run's speed can be told apart from them. */
  waits: ClaimWaits;
  /** The guest console so far, one entry per line (grows while the scenario runs). */
  console: readonly string[];
  /** The parameters the module was loaded with, to reload it the same way. */
  moduleParams: Record<string, string | number | boolean>;
  /** Seeds the stress streams; printed, so a failing run can be replayed (--seed). */
  seed: number;
  /** The CPUs the machine was given (online at boot, possible), when the harness made the machine. */
  machine?: MachineFacts;
  /** The kernel's rules that differ between releases, chosen by its release (model/release-rules.ts). */
  rules: RulesChoice;
}

export interface Scenario {
  name: string;
  /** One line: the claim of the mechanism it checks. */
  claim: string;
  /** Console findings this scenario provokes on purpose. */
  expectedConsole?: CrashKind[];
  run(ctx: ScenarioContext): Promise<void>;
}

export class Steps {
  readonly records: StepRecord[] = [];

  constructor(
    private readonly probe: RefProbe,
    private readonly onStep: (s: StepRecord) => void = () => undefined,
  ) {}

  /**
   * Reads the device from the kernel (or takes the reading just made) and
   * compares it with the model's prediction.
   */
  async check(op: string, model: DeviceModel, extra: { cpu?: number; note?: string; reading?: DeviceReading } = {}): Promise<StepRecord> {
    const { reading, ...fields } = extra;
    const predicted = model.predict();
    const observed = observe('reading' in extra ? reading : await this.probe.device(model.name), predicted);
    const diff = readableDiff(predicted, observed);
    const rec: StepRecord = { op, ...fields, ok: diff === '', predicted, observed };
    if (diff) rec.diff = diff;
    this.records.push(rec);
    this.onStep(rec);
    return rec;
  }

  /** A step whose prediction is not a device reading (module unload, sysfs). */
  checkValue(op: string, predicted: Record<string, unknown>, observed: Record<string, unknown>, note?: string): StepRecord {
    const diff = readableDiff(predicted, observed);
    const rec: StepRecord = { op, ok: diff === '', predicted, observed };
    if (note) rec.note = note;
    if (diff) rec.diff = diff;
    this.records.push(rec);
    this.onStep(rec);
    return rec;
  }

  /**
   * A measured quantity against the model's value and the error bound the
   * model justifies: it passes only inside [value - bound, value + bound].
   * The record keeps the prediction and the observation apart, whatever
   * the outcome: a prediction is never replaced by what was observed.
   */
  checkWithin(op: string, what: string, model: { value: number; bound: number }, observed: number, note?: string): StepRecord {
    return this.checkRange(op, what, { lo: model.value - model.bound, hi: model.value + model.bound }, observed, note, model.value);
  }

  /** A measured quantity (a time, a size) against the range the model allows. */
  checkRange(op: string, what: string, range: { lo: number; hi: number }, observed: number, note?: string, value?: number): StepRecord {
    const { lo, hi } = range;
    const ok = observed >= lo && observed <= hi;
    const predicted: Record<string, unknown> = { [`${what}Range`]: [lo, hi] };
    if (value !== undefined) predicted[what] = value;
    const rec: StepRecord = { op, ok, predicted, observed: { [what]: observed, [`${what}Range`]: ok ? [lo, hi] : 'outside' } };
    if (!ok) rec.diff = readableDiff(predicted, rec.observed);
    if (note) rec.note = note;
    this.records.push(rec);
    this.onStep(rec);
    return rec;
  }

  skip(reason: string): void {
    const rec: StepRecord = { op: reason, ok: true, predicted: { present: true }, observed: { present: true }, skip: reason };
    this.records.push(rec);
    this.onStep(rec);
  }

  get ok(): boolean {
    return this.records.every((r) => r.ok);
  }
}

/** How to get more online CPUs, for a skip: a QEMU guest takes an option, a running machine has what it has. */
export function moreCpus(ctx: ScenarioContext, n: number): string {
  return ctx.machine ? `run with --smp ${n} or more` : `this machine has ${ctx.info.topology.online.length} online`;
}

/** One kind of wait a claim needs, and the milliseconds it took in a scenario. */
export interface ClaimWait {
  why: string;
  ms: number;
}

/**
 * The time a scenario spends waiting because its claim needs it: the
 * kernel's own timers (netdev_unregister_timeout_secs, the 1 s rebroadcast),
 * a window in which something must not happen, the kernel allocating tens of
 * thousands of devices. The report keeps it apart, so the rest of a
 * scenario's time (the harness's) can be held to the boot floor.
 */
export class ClaimWaits {
  readonly list: ClaimWait[] = [];

  async time<T>(why: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      const ms = Math.round(performance.now() - t);
      const w = this.list.find((x) => x.why === why);
      if (w) w.ms += ms;
      else this.list.push({ why, ms });
    }
  }

  get totalMs(): number {
    return this.list.reduce((a, w) => a + w.ms, 0);
  }
}
