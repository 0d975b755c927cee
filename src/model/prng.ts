/**
 * The stress streams' generator, the same as kmod/stress.c: xorshift32,
 * seeded per CPU with murmur3's finaliser over (seed, CPU). Each CPU's
 * stream holds when it holds nothing, puts at its cap, and otherwise holds
 * three times in four (so it climbs to the cap and rides it); the model
 * knows every CPU's holds and puts without knowing how the CPUs
 * interleaved. Pure; u32 arithmetic via Math.imul and >>> 0.
 */

export function streamSeed(seed: number, cpu: number): number {
  let x = (seed ^ Math.imul(cpu + 1, 0x9e3779b9)) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x = (x ^ (x >>> 13)) >>> 0;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x || 1;
}

export class Xorshift32 {
  constructor(private state: number) {}

  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }
}

export interface StreamCounts {
  holds: number;
  puts: number;
}

/** What CPU `cpu`'s stream of `ops` operations, holding at most `cap`, does (kmod/stress.c stress_worker). */
export function stressStream(seed: number, cpu: number, ops: number, cap: number): StreamCounts {
  const rng = new Xorshift32(streamSeed(seed, cpu));
  let held = 0;
  let holds = 0;
  for (let i = 0; i < ops; i++) {
    // Same short-circuit as the C: the generator is only drawn when held is in 1..cap-1.
    if (held === 0 || (held < cap && (rng.next() & 3) !== 0)) {
      held++;
      holds++;
    } else {
      held--;
    }
  }
  return { holds, puts: ops - holds };
}
