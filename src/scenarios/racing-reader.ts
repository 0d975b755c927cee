import { readingEnvelope, trueRange, within } from '../model/race.js';
import { free, registeredDevice, unregister } from './device-ops.js';
import { moreCpus, type Scenario } from './scenario.js';

const OPS = 200_000;
const WINDOW = 16;

/**
 * netdev_refcnt_read() is a sum, not a snapshot: while CPU h holds and CPU p
 * puts, a reader on a third CPU can see a count the device never had. The
 * model bounds every reading (src/model/race.ts); how many fell outside the
 * true range is reported, the evidence for why the kernel trusts the sum only
 * once no new reference can be taken (unregister).
 */
export const racingReader: Scenario = {
  name: 'racing-reader',
  claim: 'a reader racing a holder and a putter reads within the model envelope; readings outside the true range counted',
  async run(ctx) {
    const online = ctx.info.topology.online;
    const dev = await registeredDevice(ctx, 'rprace0');
    const [h, p, r] = online;
    if (h === undefined || p === undefined || r === undefined) {
      ctx.steps.skip(`needs three online CPUs: holder, putter, reader (${moreCpus(ctx, 3)})`);
    } else {
      const base = dev.predict().refcnt;
      // Holder below putter in CPU order: the sum visits h before p, so it misses holds and sees puts.
      await ctx.probe.must(`race ${dev.name} ${h} ${p} ${r} ${OPS} ${WINDOW}`);
      const res = await ctx.probe.race();
      const b = typeof base === 'number' ? base : Number.NaN;
      const env = readingEnvelope(ctx.info.variant, b, OPS, WINDOW);
      const tr = trueRange(b, WINDOW);
      const predicted: Record<string, unknown> = { base: b, withinEnvelope: true };
      const observed: Record<string, unknown> = { base: res.base, withinEnvelope: within(env, res.min, res.max) };
      // A refcount_t is read with one atomic load: nothing may fall outside the true range.
      if (ctx.info.variant === 'refcount') {
        predicted.outsideTrueRange = 0;
        observed.outsideTrueRange = res.outside;
      }
      ctx.steps.checkValue(
        `race: hold on CPU ${h}, put on CPU ${p}, read on CPU ${r} (${OPS} each, window ${WINDOW})`,
        predicted,
        observed,
        `${res.reads} readings in [${res.min}, ${res.max}]; envelope [${env.lo}, ${env.hi}]; ${res.outside} outside the true range [${tr.lo}, ${tr.hi}]`,
      );
      dev.hold(h, OPS);
      dev.put(p, OPS);
      await ctx.steps.check(`after the race: CPU ${h} +${OPS}, CPU ${p} -${OPS}, sum back at the baseline`, dev);
    }
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
