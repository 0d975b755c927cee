import { free, lastOnlineCpu, registeredDevice } from './device-ops.js';
import type { Scenario } from './scenario.js';
import { setUnregisterTimeout, unregisterUntilWarned, WAIT_RECHECK } from './unregister-wait.js';

/**
 * A reference taken with a tracker (netdev_hold with a netdevice_tracker)
 * and not put when unregister starts. With CONFIG_NET_DEV_REFCNT_TRACKER the
 * wait loop names it with the stack that took it, which must be refprobe's
 * (net/core/dev.c netdev_wait_allrefs_any -> ref_tracker_dir_print): 6.1
 * says "leaked reference.", 6.12 "ref_tracker: NAME@ADDR has 1/1 users at"
 * (the release's rule, model/release-rules.ts). Without the tracker only
 * the usage count shows.
 */
export const trackerLeak: Scenario = {
  name: 'tracker-leak',
  claim: 'a tracked reference held across unregister is reported with the stack that took it (tracker kernels only)',
  expectedConsole: ['unregister-wait', 'ref-leak'],
  async run(ctx) {
    // Without the tracker nothing names the leak: the usage count alone is unregister-held's claim.
    if (!ctx.info.tracker) {
      ctx.steps.skip(`no reference tracker in this kernel (CONFIG_NET_DEV_REFCNT_TRACKER=n): ${ctx.machine ? 'boot the tracker variant (--kernel tracker)' : 'boot the machine on a kernel built with it'}`);
      return;
    }
    const n = lastOnlineCpu(ctx);
    const online0 = ctx.info.topology.online[0] ?? 0;
    const dev = await registeredDevice(ctx, 'rptrack0');
    await ctx.probe.must(`hold_tracked ${dev.name} ${n}`);
    dev.holdTracked(n);
    await ctx.steps.check(`hold_tracked ${dev.name} on CPU ${n}`, dev, { cpu: n });
    await setUnregisterTimeout(ctx, 1);
    try {
      const { mark, want, usage } = await unregisterUntilWarned(ctx, dev);
      // The tracker prints its report right after the usage line; give the console a moment to carry it.
      await ctx.waits.time('the reference tracker\'s report after the usage line (0.5 s)', () => new Promise((r) => setTimeout(r, 500)));
      const after = ctx.console.slice(mark);
      const { re, source } = ctx.rules.rules.trackerLeak;
      const leak = after.findIndex((l) => re.test(l));
      const stack = leak >= 0 ? after.slice(leak, leak + 25).join('\n') : '';
      ctx.steps.checkValue(
        `unregister with the tracked reference held: the tracker names it`,
        { usageCount: want, leakReported: true, stackNamesRefprobe: true },
        { usageCount: usage, leakReported: leak >= 0, stackNamesRefprobe: /\[refprobe\]/.test(stack) },
        `${ctx.rules.rules.series}'s report: ${source}${leak >= 0 ? `; seen: ${after.slice(leak, leak + 3).join(' | ')}` : ''}`,
      );
      await ctx.probe.must(`put_tracked ${dev.name} ${online0}`);
      dev.putTracked(online0);
      const took = await ctx.waits.time(WAIT_RECHECK, () => ctx.probe.waitFor(dev.name, (d) => d?.unreg === 'done', 10_000));
      dev.unregisterCompleted();
      await ctx.steps.check(`put_tracked: unregister of ${dev.name} completes`, dev, { note: took === null ? 'still pending after 10 s' : `completed ${took} ms after the put` });
    } finally {
      await setUnregisterTimeout(ctx, 10);
    }
    await free(ctx, dev);
  },
};
