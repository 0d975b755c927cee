import { badInput } from './bad-input.js';
import { cpuUnplug } from './cpu-unplug.js';
import { holdPutCrossCpu } from './cross-cpu.js';
import { dummyDevice } from './dummy.js';
import { holdPutEveryCpu } from './hold-put.js';
import { hotplug, possibleNotPresent } from './hotplug.js';
import { imbalance } from './imbalance.js';
import { irqContext } from './irq-context.js';
import { lifecycle } from './lifecycle.js';
import { memoryCost } from './memory.js';
import { racingReader } from './racing-reader.js';
import type { Scenario } from './scenario.js';
import { stress } from './stress.js';
import { trackerLeak } from './tracker-leak.js';
import { unloadReleases } from './unload.js';
import { unregisterBalanced } from './unregister.js';
import { unregisterBelowOne, unregisterHeld, unregisterNotifier, unregisterRebroadcast } from './unregister-wait.js';
import { nullDevice } from './null-device.js';
import { extremes } from './extremes.js';
import { unregisterOffline } from './unregister-offline.js';

/**
 * Every scenario, in the order a run takes them. The racing reader and the
 * interrupt-context race come before the stress streams: a lost update
 * leaves a count unregister never sees reach 1, and whichever of them meets
 * it first is the last to run.
 * cpu-unplug runs last of all: it may unplug a CPU the guest booted with.
 */
export const SCENARIOS: readonly Scenario[] = [
  lifecycle,
  holdPutEveryCpu,
  holdPutCrossCpu,
  extremes,
  racingReader,
  irqContext,
  stress,
  unregisterBalanced,
  unregisterHeld,
  unregisterNotifier,
  unregisterRebroadcast,
  unregisterBelowOne,
  trackerLeak,
  hotplug,
  unregisterOffline,
  possibleNotPresent,
  dummyDevice,
  nullDevice,
  imbalance,
  memoryCost,
  badInput,
  unloadReleases,
  // Last: it may leave the guest a CPU short of the one it booted with (6.12 under TCG unplugs a boot CPU).
  cpuUnplug,
];
