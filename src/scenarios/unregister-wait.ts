import type { DeviceModel } from '../model/device.js';
import type { DeviceReading } from '../model/types.js';
import { usageWarnings, type UsageWarning } from '../crash/unregister-warnings.js';
import { noWaitWindow, rebroadcastWindow, repeatWindow, unregisterEvents, warningWindow } from '../model/unregister-timing.js';
import { DEBUGFS_DIR } from '../probe/client.js';
import { writeLine } from '../backend/target.js';
import { free, hold, lastOnlineCpu, put, registeredDevice } from './device-ops.js';
import type { Scenario, ScenarioContext } from './scenario.js';
import { checkWarnings } from './console-warnings.js';

const TIMEOUT_SYSCTL = '/proc/sys/net/core/netdev_unregister_timeout_secs';

/** The claims' waits (ClaimWaits): the kernel's own timers, which no harness can hurry. */
export const WAIT_WARNING = 'netdev_unregister_timeout_secs (1 s, the least it takes) until "waiting for NAME to become free"';
export const WAIT_REBROADCAST = "the wait loop's rebroadcast of NETDEV_UNREGISTER, 1 s after unregister starts";
export const WAIT_RECHECK = 'the wait loop noticing the put: it re-reads the count after sleeps growing to 250 ms';
export const WAIT_REPEAT = 'netdev_unregister_timeout_secs (1 s) again, until the usage-count line repeats';

/**
 * Polls the console from line `from` until `name` has `count` usage-count
 * lines; returns what is there after the timeout (fewer, for a kernel that
 * stopped warning).
 */
export async function waitForWarnings(ctx: ScenarioContext, name: string, from: number, count: number, timeoutMs: number): Promise<UsageWarning[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = usageWarnings(ctx.console, name, from);
    if (found.length >= count || Date.now() > end) return found;
    // The console is the harness's own buffer: polling it costs the guest nothing.
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function setUnregisterTimeout(ctx: ScenarioContext, secs: number): Promise<void> {
  const r = await writeLine(ctx.probe.target, TIMEOUT_SYSCTL, String(secs));
  if (r.exitCode !== 0) throw new Error(`cannot set ${TIMEOUT_SYSCTL}: ${r.stderr.trim()}`);
}

/**
 * unregister_async with references held, until the wait loop's first
 * "waiting for NAME to become free" line: where the console was when it
 * started, the usage count the model predicts, and the one the line printed
 * (or why there was none).
 */
export async function unregisterUntilWarned(
  ctx: ScenarioContext,
  dev: DeviceModel,
): Promise<{ mark: number; want: number | null | undefined; usage: number | string; afterMs: number | null; first: UsageWarning | null }> {
  const mark = ctx.console.length;
  const t0 = Date.now();
  await ctx.probe.must(`unregister_async ${dev.name}`);
  dev.unregisterStarted();
  const want = dev.predict().refcnt;
  const [first] = await ctx.waits.time(WAIT_WARNING, () => waitForWarnings(ctx, dev.name, mark, 1, 15_000));
  return { mark, want, usage: first ? first.usage : 'no such line within 15 s', afterMs: first ? Date.now() - t0 : null, first: first ?? null };
}

/**
 * How the wait loop ended an unregister that returned: the NETDEV_UNREGISTER
 * notifications the device saw (the model predicts them exactly) and how
 * long it took (guest ms, within the model's window).
 */
export async function checkUnregisterTiming(ctx: ScenarioContext, name: string, rebroadcasts: number): Promise<void> {
  const d = await ctx.probe.device(name);
  const ms = d?.unregUs === null || d?.unregUs === undefined ? Number.NaN : Math.round(d.unregUs / 100) / 10;
  const w = rebroadcasts === 0 ? noWaitWindow() : rebroadcastWindow();
  ctx.steps.checkValue(
    rebroadcasts === 0 ? `unregister of ${name}: no rebroadcast of NETDEV_UNREGISTER was needed` : `unregister of ${name}: released by the first rebroadcast of NETDEV_UNREGISTER`,
    { notifications: unregisterEvents(rebroadcasts) },
    { notifications: d?.unregEvents },
    `took ${ms} ms`,
  );
  ctx.steps.checkRange(`unregister of ${name}: time within the model's window`, 'unregisterMs', w, ms, w.why);
}

/**
 * The first usage-count line printed after the change the model predicts
 * for (`mark`: the console's length once that change was made), and the
 * checks of its count and of its spacing from the line before it (`prev`,
 * or one a slow guest printed between `prev` and the change).
 */
async function checkNextWarning(ctx: ScenarioContext, dev: DeviceModel, prev: UsageWarning | null, mark: number, what: string): Promise<UsageWarning | null> {
  const between = prev ? usageWarnings(ctx.console, dev.name, prev.index + 1).filter((w) => w.index < mark) : [];
  const before = between.at(-1) ?? prev;
  const [next] = await ctx.waits.time(WAIT_REPEAT, () => waitForWarnings(ctx, dev.name, Math.max(mark, before ? before.index + 1 : 0), 1, 10_000));
  ctx.steps.checkValue(
    `console: "waiting for ${dev.name} to become free" again, ${what}`,
    { usageCount: dev.predict().refcnt },
    { usageCount: next ? next.usage : 'no further line within 10 s' },
    'each line reads the count afresh (netdev_refcnt_read at the time of printing)',
  );
  if (before && next) {
    const w = repeatWindow(1);
    const gap = Math.round(next.atMs - before.atMs);
    ctx.steps.checkRange(`the usage-count lines are netdev_unregister_timeout_secs (1 s) apart`, 'gapMs', w, gap, `${gap} ms of guest time between them; ${w.why}`);
  }
  return next ?? null;
}

/**
 * Unregister while references are held: netdev_wait_allrefs_any() waits for
 * the sum to reach 1 and, every netdev_unregister_timeout_secs, prints
 * "waiting for NAME to become free. Usage count = N", N read afresh each
 * time. The model predicts N for the first line, and for the next after a
 * put between them; the lines are the sysctl's interval apart (guest time).
 * After the last put the unregister completes.
 */
export const unregisterHeld: Scenario = {
  name: 'unregister-held',
  claim: 'unregister waits while references are held, warning every netdev_unregister_timeout_secs with the count at the time; the last put releases it',
  expectedConsole: ['unregister-wait'],
  async run(ctx) {
    const online = ctx.info.topology.online;
    const n = lastOnlineCpu(ctx);
    const dev = await registeredDevice(ctx, 'rpwait0');
    await hold(ctx, dev, n, 3);
    await setUnregisterTimeout(ctx, 1);
    try {
      const { want, usage, afterMs, first } = await unregisterUntilWarned(ctx, dev);
      await ctx.probe.waitFor(dev.name, (d) => d?.refcnt === want, 5000);
      await ctx.steps.check(`unregister_async ${dev.name} with ${dev.references} held: pending`, dev);
      ctx.steps.checkValue(`console: "waiting for ${dev.name} to become free"`, { usageCount: want }, { usageCount: usage });
      const w = warningWindow(1);
      ctx.steps.checkRange(
        `the usage-count line comes after netdev_unregister_timeout_secs (1 s), not before`,
        'afterMs',
        w,
        afterMs ?? Number.NaN,
        `${afterMs ?? 'never'} ms after unregister_async was sent; ${w.why}`,
      );
      // A put between two lines: the next one must print the lower count.
      await put(ctx, dev, online[0] ?? 0, 1);
      await checkNextWarning(ctx, dev, first, ctx.console.length, 'after one put: one less');
      await put(ctx, dev, online[0] ?? 0, 2);
      const took = await ctx.waits.time(WAIT_RECHECK, () => ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 10_000));
      dev.unregisterCompleted();
      await ctx.steps.check(`unregister of ${dev.name} completes after the last put`, dev, {
        note: took === null ? 'still pending after 10 s' : `completed ${took} ms after the put`,
      });
    } finally {
      await setUnregisterTimeout(ctx, 10);
    }
    await free(ctx, dev);
  },
};

/**
 * The wait is for exactly 1. A put nobody took, on a device whose
 * unregister waits, takes the per-CPU sum to 0: 6.1 and 6.12 go on waiting
 * and warning ("Usage count = 0") and never free the device (a kernel that
 * took "at most one" for free would free it with references outstanding,
 * or BUG in netdev_run_todo). The hold that pays the put back brings the
 * sum to exactly 1 and ends the wait. A refcount_t cannot fall below 1 and
 * come back (refcount_dec saturates it for good), so there it is a skip.
 */
export const unregisterBelowOne: Scenario = {
  name: 'unregister-below-one',
  claim: 'a count that falls below 1 while unregister waits keeps it waiting and warning; a hold back to exactly 1 releases it',
  expectedConsole: ['unregister-wait', 'refcount', 'warning'],
  async run(ctx) {
    if (ctx.info.variant !== 'pcpu') {
      ctx.steps.skip('a refcount_t cannot fall below 1 and come back: refcount_dec() saturates it at -2^30 with a WARN (the imbalance scenario checks that), and the unregister would wait forever');
      return;
    }
    const online = ctx.info.topology.online;
    const n = lastOnlineCpu(ctx);
    const dev = await registeredDevice(ctx, 'rpbelow0');
    await hold(ctx, dev, n, 1);
    await setUnregisterTimeout(ctx, 1);
    const mark = ctx.console.length;
    try {
      await ctx.probe.must(`unregister_async ${dev.name}`);
      dev.unregisterStarted();
      // Only once the kernel's own references are gone may the sum go below 1 without passing a reading of 1 the loop could act on,
      // and only once netdev_run_todo() has marked it unregistered and waits (the count can settle while it is still
      // "unregistering": 6.12 was caught there, on a machine busy building kernels).
      const { refcnt: want, reg } = dev.predict();
      await ctx.probe.waitFor(dev.name, (d) => d?.refcnt === want && d?.reg === reg, 5000);
      await ctx.steps.check(`unregister_async ${dev.name} with ${dev.references} held: pending`, dev);
      const cpu = online[0] ?? 0;
      await ctx.probe.must(`put ${dev.name} ${cpu} 2`);
      dev.put(cpu, 2);
      await ctx.steps.check(`put ${dev.name} x2 on CPU ${cpu}: one more than held, the sum falls to ${dev.predict().refcnt}`, dev, { cpu });
      // A line printed before the put (the wait above may outlast the 1 s interval) reads the count before it.
      const afterPut = ctx.console.length;
      const [line] = await ctx.waits.time(WAIT_WARNING, () => waitForWarnings(ctx, dev.name, afterPut, 1, 10_000));
      ctx.steps.checkValue(`console: "waiting for ${dev.name} to become free" with the count below 1`, { usageCount: dev.predict().refcnt }, { usageCount: line ? line.usage : 'no such line within 10 s' });
      // By now the loop has re-read the sum many times (every <= 250 ms): it must still be waiting.
      const now = await ctx.steps.check(`unregister of ${dev.name} still waits: the count is not 1`, dev);
      if ((now.observed as { unreg?: string }).unreg === 'done') {
        // A kernel that let the device go (the step above failed): nothing to pay back.
        return;
      }
      await hold(ctx, dev, cpu, 1);
      const took = await ctx.waits.time(WAIT_RECHECK, () => ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 10_000));
      dev.unregisterCompleted();
      await ctx.steps.check(`the hold that pays it back brings the count to 1: unregister completes`, dev, {
        note: took === null ? 'still pending after 10 s' : `completed ${took} ms after the hold`,
      });
    } finally {
      await setUnregisterTimeout(ctx, 10);
    }
    await free(ctx, dev);
    await checkWarnings(ctx, dev, mark, `console after the puts past one, the hold back and the free (${ctx.info.tracker ? 'no_tracker is a refcount_t' : 'per-CPU counters: silent'})`);
  },
};

/**
 * A holder that lets go on NETDEV_UNREGISTER, as protocols do: the module's
 * notifier drops its references when unregister starts, so the wait ends at
 * once and no "waiting for" line appears (any would fail the scenario).
 */
export const unregisterNotifier: Scenario = {
  name: 'unregister-notifier',
  claim: 'references dropped by a NETDEV_UNREGISTER notifier let unregister finish without waiting',
  async run(ctx) {
    const n = lastOnlineCpu(ctx);
    const dev = await registeredDevice(ctx, 'rpnotif0');
    await ctx.probe.must(`hold_notifier ${dev.name} ${n} 3`);
    dev.holdNotifier(n, 3);
    await ctx.steps.check(`hold_notifier ${dev.name} x3 on CPU ${n}`, dev, { cpu: n });
    await setUnregisterTimeout(ctx, 1);
    try {
      await ctx.probe.must(`unregister_async ${dev.name}`);
      dev.unregisterStarted();
      const took = await ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 10_000);
      dev.unregisterCompleted();
      await ctx.steps.check(`unregister_async ${dev.name}: the notifier let go, no wait`, dev, {
        note: took === null ? 'still pending after 10 s' : `completed in ${took} ms`,
      });
      await checkUnregisterTiming(ctx, dev.name, 0);
    } finally {
      await setUnregisterTimeout(ctx, 10);
    }
    await free(ctx, dev);
  },
};

const LATE = 2;

/**
 * A holder that lets go only when NETDEV_UNREGISTER comes a second time, as
 * protocols that re-acquire a cached device do: unregister_netdevice_many()
 * sends it once, and only netdev_wait_allrefs_any()'s rebroadcast, a second
 * later, releases the references. The unregister is the synchronous one,
 * run in the background: the module must keep answering while it waits.
 * A kernel that never re-sends the notification never finishes.
 */
export const unregisterRebroadcast: Scenario = {
  name: 'unregister-rebroadcast',
  claim: 'references dropped only on a repeated NETDEV_UNREGISTER are released by the wait loop\'s rebroadcast, about 1 s after unregister starts',
  async run(ctx) {
    const n = lastOnlineCpu(ctx);
    const dev = await registeredDevice(ctx, 'rprebr0');
    await ctx.probe.must(`hold_rebroadcast ${dev.name} ${n} ${LATE}`);
    dev.holdRebroadcast(n, LATE);
    await ctx.steps.check(`hold_rebroadcast ${dev.name} x${LATE} on CPU ${n}`, dev, { cpu: n });
    // The synchronous command, in the background: the module waits for it without its lock.
    const bg = await ctx.probe.target.run(`(echo 'unregister ${dev.name}' > ${DEBUGFS_DIR}/ctl) >/dev/null 2>&1 &`);
    if (bg.exitCode !== 0) throw new Error(`cannot start unregister in the background: ${bg.stderr.trim()}`);
    dev.unregisterStarted();
    // The background write reaches the module a moment after the script that started it has
    // returned: read once the module has seen it (or after 5 s, and judge what is there).
    let now: DeviceReading | undefined;
    await ctx.probe.waitFor(dev.name, (d) => (now = d)?.unreg !== 'none', 5000);
    const p = dev.predict();
    ctx.steps.checkValue(
      `unregister ${dev.name} (synchronous, in the background): waiting for the rebroadcast, and the module still answers`,
      { unreg: p.unreg, nlate: p.nlate },
      { unreg: now?.unreg, nlate: now?.nlate },
    );
    const took = await ctx.waits.time(WAIT_REBROADCAST, () => ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 5000));
    dev.rebroadcast();
    dev.unregisterCompleted();
    await ctx.steps.check(`the wait loop re-sends NETDEV_UNREGISTER: the holder lets go, unregister completes`, dev, {
      note: took === null ? 'still waiting 5 s later: no rebroadcast' : `seen done ${took} ms later`,
    });
    if (took === null) {
      // A kernel that never re-sends it (the step above failed): let go by hand, so this
      // device does not keep the rest of the run waiting on it.
      await ctx.probe.must(`drop_notifier ${dev.name}`);
      await ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 10_000);
    }
    await checkUnregisterTiming(ctx, dev.name, 1);
    await free(ctx, dev);
  },
};
