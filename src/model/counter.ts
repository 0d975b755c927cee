/**
 * The two ways Linux 6.1 counts net_device references, as pure models.
 *
 * PcpuCounter: CONFIG_PCPU_DEV_REFCNT=y. One int per possible CPU; a hold is
 * this_cpu_inc, a put this_cpu_dec, and netdev_refcnt_read() sums the
 * counters of every possible CPU in an int (net/core/dev.c netdev_refcnt_read),
 * so both the counters and the sum wrap around at 32 bits.
 *
 * RefcountT: CONFIG_PCPU_DEV_REFCNT=n. One refcount_t with the checks of
 * include/linux/refcount.h (__refcount_add, __refcount_dec): a mistake
 * warns and pins the counter at REFCOUNT_SATURATED.
 */

/** INT_MIN / 2, where refcount_warn_saturate() pins a broken refcount_t. */
export const REFCOUNT_SATURATED = -1073741824;

/** C's int arithmetic: wrap to a signed 32-bit value. */
export const int32 = (n: number): number => n | 0;

export class PcpuCounter {
  private readonly slots = new Map<number, number>();

  constructor(readonly possible: readonly number[]) {
    if (possible.length === 0) throw new Error('a per-CPU counter needs at least one possible CPU');
    for (const cpu of possible) this.slots.set(cpu, 0);
  }

  private slot(cpu: number): number {
    const v = this.slots.get(cpu);
    if (v === undefined) throw new Error(`CPU ${cpu} is not a possible CPU (possible: ${this.possible.join(',')})`);
    return v;
  }

  add(cpu: number, delta: number): void {
    this.slots.set(cpu, int32(this.slot(cpu) + delta));
  }

  hold(cpu: number, count = 1): void {
    this.add(cpu, count);
  }

  put(cpu: number, count = 1): void {
    this.add(cpu, -count);
  }

  /** Overwrite every counter, e.g. with a measured baseline. */
  set(values: ReadonlyMap<number, number>): void {
    for (const cpu of this.possible) this.slots.set(cpu, int32(values.get(cpu) ?? 0));
  }

  /** netdev_refcnt_read(): the int sum over every possible CPU. */
  read(): number {
    let sum = 0;
    for (const v of this.slots.values()) sum = int32(sum + v);
    return sum;
  }

  perCpu(): Map<number, number> {
    return new Map(this.slots);
  }
}

export type RefcountWarning =
  | 'addition on 0; use-after-free'
  | 'saturated; leaking memory'
  | 'decrement hit 0; leaking memory';

export class RefcountT {
  readonly warnings: RefcountWarning[] = [];

  constructor(private value = 1) {}

  private saturate(warning: RefcountWarning): void {
    this.warnings.push(warning);
    this.value = REFCOUNT_SATURATED;
  }

  /** refcount_inc(): __refcount_add(1). */
  hold(count = 1): void {
    for (let i = 0; i < count; i++) {
      const old = this.value;
      this.value = int32(old + 1);
      if (old === 0) this.saturate('addition on 0; use-after-free');
      else if (old < 0 || int32(old + 1) < 0) this.saturate('saturated; leaking memory');
    }
  }

  /** refcount_dec(): warns when the old value was 1 or less. */
  put(count = 1): void {
    for (let i = 0; i < count; i++) {
      const old = this.value;
      this.value = int32(old - 1);
      if (old <= 1) this.saturate('decrement hit 0; leaking memory');
    }
  }

  set(value: number): void {
    this.value = int32(value);
  }

  read(): number {
    return this.value;
  }
}
