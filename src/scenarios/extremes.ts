import { free, hold, lastOnlineCpu, put, registeredDevice, unregister } from './device-ops.js';
import { moreCpus, type Scenario } from './scenario.js';

/** Far beyond 16 bits (65535), within one hold command (max_count 1,000,000). */
const BIG = 100_000;
/** A first put on the other CPU that leaves the sum beyond 16 bits too: per-CPU values of opposite sign. */
const PART = 60_000;

/**
 * The sum and the per-CPU values far from small numbers: 100,000 references
 * on one CPU (its counter and the sum beyond 16 bits), put on another CPU in
 * two steps (that CPU's counter goes to -100,000 while the sum comes back
 * down). A kernel that sums netdev_refcnt_read() in a narrower integer, or
 * keeps a counter in one, reads wrong at every stage.
 */
export const extremes: Scenario = {
  name: 'extremes',
  claim: `${BIG.toLocaleString('en')} references on one CPU put on another: counters and sum beyond 16 bits, opposite signs, read at every stage`,
  async run(ctx) {
    const a = lastOnlineCpu(ctx);
    const b = ctx.info.topology.online[0] ?? 0;
    const dev = await registeredDevice(ctx, 'rpbig0');
    await hold(ctx, dev, a, BIG);
    if (a === b) {
      ctx.steps.skip(`needs a second online CPU for counters of opposite sign (${moreCpus(ctx, 2)})`);
      await put(ctx, dev, a, BIG);
    } else {
      await put(ctx, dev, b, PART);
      await put(ctx, dev, b, BIG - PART);
    }
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
