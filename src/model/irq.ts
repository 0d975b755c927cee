/**
 * What an irq run (kmod/irq.c) does to a device, predicted from the
 * operations the module reports it did. Pure.
 *
 * On one CPU: holds in hard-interrupt context (an hrtimer), puts in softirq
 * context (a tasklet, never ahead of the holds), and a process-context kthread
 * running rounds of PHOLD holds and PPUT puts until the interrupts are done.
 * Every one of them moves that CPU's counter, whatever landed inside what:
 * the counter and the sum after the run follow from the counts alone.
 */
import type { DeviceModel } from './device.js';
import type { Range } from './race.js';

/** What the run was asked to do (the irq command's counts). */
export interface IrqRequest {
  hard: number;
  soft: number;
  phold: number;
  pput: number;
}

/** The operations done, by context, as the module counted them. */
export interface IrqOps {
  hardirqHolds: number;
  softirqPuts: number;
  processHolds: number;
  processPuts: number;
}

/**
 * What a complete run does: every interrupt-context operation asked for,
 * and whole rounds of the process loop (how many depends on how long the
 * interrupts took, so the module reports it).
 */
export function expectedOps(req: IrqRequest, rounds: number): IrqOps {
  return { hardirqHolds: req.hard, softirqPuts: req.soft, processHolds: rounds * req.phold, processPuts: rounds * req.pput };
}

/** The references the run leaves held: the interrupts' and the process loop's. */
export function referencesLeft(ops: IrqOps): number {
  return ops.hardirqHolds - ops.softirqPuts + ops.processHolds - ops.processPuts;
}

/** Every operation on the run's CPU, told to the device model. */
export function applyIrqRun(dev: DeviceModel, cpu: number, ops: IrqOps): void {
  dev.hold(cpu, ops.hardirqHolds + ops.processHolds);
  dev.put(cpu, ops.softirqPuts + ops.processPuts);
}

/**
 * One round of the process loop, step by step as irq_round() takes it: a
 * put whenever the puts fall behind PPUT for PHOLD (p * PHOLD < h * PPUT),
 * else a hold. Returns the counts and the lowest and highest balance seen.
 */
export function processRound(phold: number, pput: number): { holds: number; puts: number; low: number; peak: number } {
  let h = 0;
  let p = 0;
  let low = 0;
  let peak = 0;
  while (h + p < phold + pput) {
    if (p < pput && p * phold < h * pput) p++;
    else h++;
    low = Math.min(low, h - p);
    peak = Math.max(peak, h - p);
  }
  return { holds: h, puts: p, low, peak };
}

/**
 * The highest balance within one round: a hold comes only when p >= h * r
 * (r = PPUT / PHOLD), so after the hold that makes h, the balance is at most
 * h (1 - r) + r, largest at h = PHOLD: PHOLD - PPUT + r <= PHOLD - PPUT + 1.
 */
export function roundPeakBound(phold: number, pput: number): number {
  return phold - pput + 1;
}

/**
 * The count at every moment of the run: the interrupts hold between 0 and
 * all their holds (a put never before its hold), the process loop between
 * 0 and what its rounds left plus one round's peak above its end. Every
 * change is to the one CPU's counter, and netdev_refcnt_read() on another
 * CPU reads that counter once, so each reading is a value the count really
 * had: the same envelope on a per-CPU and a refcount_t kernel.
 */
export function irqReadingEnvelope(base: number, ops: IrqOps, req: IrqRequest): Range {
  const lastRoundExcess = roundPeakBound(req.phold, req.pput) - (req.phold - req.pput);
  return { lo: base, hi: base + ops.hardirqHolds + ops.processHolds - ops.processPuts + lastRoundExcess };
}
