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
  bootMs: number;
  /** The CPUs the harness gave the machine and what its firmware says of them; absent for a machine it did not make. */
  machine?: MachineFacts;
  close: () => Promise<void>;
}

/** Loads the module and reads what it reports; the caller closes the guest, also when this fails. */
export async function loadProbe(g: Omit<OpenedGuest, 'facts'>, moduleParams: Record<string, string | number | boolean>): Promise<Guest> {
  const probe = new RefProbe(g.target, g.modulePath);
  await probe.load(moduleParams).catch((e: Error) => {
    throw g.moduleRefused ? g.moduleRefused(e.message) : e;
  });
  const info = await probe.info();
  return { target: g.target, probe, info, bootMs: g.bootMs, close: g.close, ...(g.machine ? { machine: g.machine } : {}) };
}
