import { holdPutCrossCpu } from './cross-cpu.js';
import { holdPutEveryCpu } from './hold-put.js';
import { hotplug, possibleNotPresent } from './hotplug.js';
import { lifecycle } from './lifecycle.js';
import type { Scenario } from './scenario.js';
import { unloadReleases } from './unload.js';
import { unregisterBalanced } from './unregister.js';

/** Every scenario, in the order a run takes them. */
export const SCENARIOS: readonly Scenario[] = [lifecycle, holdPutEveryCpu, holdPutCrossCpu, unregisterBalanced, hotplug, possibleNotPresent, unloadReleases];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
