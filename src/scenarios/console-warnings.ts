/**
 * The refcount_t complaints and WARNINGs a scenario provokes on purpose,
 * read from the console and set against the model's list (DeviceModel
 * expectedWarnings). Both kinds are WARN_ONCE per kind and boot: what the
 * boot printed before the scenario began is passed to the model, which
 * leaves it out (the kernel will not print it again).
 */
import { classifyConsole } from '../crash/classify.js';
import type { DeviceModel } from '../model/device.js';
import type { ScenarioContext } from './scenario.js';

/** Titles of refcount_t complaints and WARNING sites in console lines [from, to), without line numbers. */
export function warningsIn(ctx: ScenarioContext, from: number, to = ctx.console.length): string[] {
  return classifyConsole(ctx.console.slice(from, to).join('\n'))
    .filter((f) => f.kind === 'refcount' || f.kind === 'warning')
    .map((f) => f.title.replace(/:\d+$/, ''));
}

/** What this boot printed before console line `mark`: the WARN_ONCEs that will not come again. */
export function printedBefore(ctx: ScenarioContext, mark: number): Set<string> {
  return new Set(warningsIn(ctx, 0, mark));
}

/** Lets the console catch up: a WARN is printed by the CPU that did the put, maybe after our reply. */
async function settle(ctx: ScenarioContext, from: number, want: number): Promise<void> {
  const end = Date.now() + 3000;
  while (warningsIn(ctx, from).length < want && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

/** One step: the warnings the model predicts for `dev` since `mark`, against the console's. */
export async function checkWarnings(ctx: ScenarioContext, dev: DeviceModel, mark: number, op: string): Promise<void> {
  const want = dev.expectedWarnings(printedBefore(ctx, mark));
  await settle(ctx, mark, want.length);
  ctx.steps.checkValue(op, { warnings: want }, { warnings: warningsIn(ctx, mark) }, 'refcount_t complaints and WARNINGs are WARN_ONCE: those this boot printed before are not expected again');
}
