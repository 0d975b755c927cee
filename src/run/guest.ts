/**
 * An open machine made ready for the scenarios, whatever backend opened it:
 * refprobe loaded with the run's parameters, its topology read.
 */
import { RefProbe } from '../probe/client.js';
import type { ProbeInfo } from '../probe/parse.js';
import type { OpenedGuest } from '../backend/backend.js';
import type { MachineFacts, Target } from '../backend/target.js';

export interface Guest {
  /** The machine, through the Target interface only: nothing after this needs to know its backend. */
  target: Target;
  probe: RefProbe;
  info: ProbeInfo;
  /** From starting the machine (or connecting) until the module answered: the boot phase. */
  bootMs: number;
  /** The CPUs the harness gave the machine and what its firmware says of them; absent for a machine it did not make. */
  machine?: MachineFacts;
  close: () => Promise<void>;
}

/** Loads the module and reads what it reports; the caller closes the guest, also when this fails. */
export async function loadProbe(g: Omit<OpenedGuest, 'facts'>, moduleParams: Record<string, string | number | boolean>): Promise<Guest> {
  const t = performance.now();
  const probe = new RefProbe(g.target, g.modulePath);
  await probe.load(moduleParams).catch((e: Error) => {
    throw g.moduleRefused ? g.moduleRefused(e.message) : e;
  });
  const info = await probe.info();
  // Loading the module and reading it is part of the boot phase, as it always was in the report.
  const bootMs = g.bootMs + Math.round(performance.now() - t);
  return { target: g.target, probe, info, bootMs, close: g.close, ...(g.machine ? { machine: g.machine } : {}) };
}
