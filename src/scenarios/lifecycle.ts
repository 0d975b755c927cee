import { alloc, free, lastOnlineCpu, newDevice, register, unregister } from './device-ops.js';
import type { Scenario } from './scenario.js';

/** alloc reads 1 on the allocating CPU; register adds the kernel's own references; unregister leaves 1. */
export const lifecycle: Scenario = {
  name: 'lifecycle',
  claim: 'a new device reads 1 on the allocating CPU; after unregister the count is back to 1',
  async run(ctx) {
    // Allocate on the last online CPU so "the allocating CPU's slot" is not just CPU 0.
    const allocCpu = lastOnlineCpu(ctx);
    const dev = newDevice(ctx, 'rplife0');
    await alloc(ctx, dev, allocCpu);
    await register(ctx, dev, ctx.info.topology.online[0] ?? 0);
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};
