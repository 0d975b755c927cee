/**
 * A test device's life as the model sees it: alloc, register, hold/put on
 * chosen CPUs, unregister, free. Pure; every reading the harness judges is
 * predicted here.
 *
 * The only input the model does not compute is the baseline: the references
 * register_netdevice() and its notifiers take (sysfs queues, IPv4/IPv6 state,
 * 8 on a plain ether_setup device with IPv6). It is measured once, right after
 * register, and every later prediction is made from it.
 */
import { int32, PcpuCounter, RefcountT } from './counter.js';
import type { DeviceReading, Prediction, RegState, Topology, UnregState, Variant } from './types.js';

export class ModelError extends Error {}

export class DeviceModel {
  private pcpu: PcpuCounter | null;
  private refcount: RefcountT | null;
  private reg: RegState | null = null;
  private unreg: UnregState = 'none';
  private held = 0;
  /** References our notifier holds until NETDEV_UNREGISTER. */
  private nheld = 0;
  /** References it holds until a repeated NETDEV_UNREGISTER (the wait loop's rebroadcast). */
  private nlate = 0;
  private dummy = false;
  private tracked = false;
  private readonly online: Set<number>;
  /**
   * The reference tracker's count of untracked references (ref_tracker_dir
   * no_tracker, lib/ref_tracker.c): starts at 1, dev_hold/dev_put with a
   * NULL tracker move it, and it is a refcount_t even on a per-CPU kernel.
   */
  private readonly noTracker: RefcountT | null;
  /** Console warnings the kernel must print for what was done to this device. */
  private readonly warnings: string[] = [];
  /** Per-CPU values are known until the kernel drops its own references. */
  private perCpuKnown = true;

  constructor(
    readonly name: string,
    readonly variant: Variant,
    readonly topology: Topology,
    tracker = false,
  ) {
    this.online = new Set(topology.online);
    this.noTracker = tracker ? new RefcountT(1) : null;
    this.pcpu = variant === 'pcpu' ? new PcpuCounter(topology.possible) : null;
    this.refcount = variant === 'refcount' ? new RefcountT(0) : null;
  }

  get references(): number {
    return this.held;
  }

  /** The model's value of one CPU's counter (0 on a refcount_t kernel). */
  perCpu(cpu: number): number {
    return this.pcpu?.perCpu().get(cpu) ?? 0;
  }

  get state(): RegState | null {
    return this.reg;
  }

  /** True when the CPU is online now: a hold or put there would run. */
  isOnline(cpu: number): boolean {
    return this.online.has(cpu);
  }

  /**
   * CPU hotplug. Nothing folds a counter when its CPU goes offline: the
   * value stays in the per-CPU area and netdev_refcnt_read() still sums it.
   */
  cpuOffline(cpu: number): void {
    this.online.delete(cpu);
  }

  cpuOnline(cpu: number): void {
    if (!this.topology.possible.includes(cpu)) throw new ModelError(`CPU ${cpu} is not possible`);
    this.online.add(cpu);
  }

  private requireOnline(cpu: number, what: string): void {
    if (!this.online.has(cpu)) {
      throw new ModelError(`${what} on CPU ${cpu}: not online (online: ${[...this.online].join(',')})`);
    }
  }

  /** alloc_netdev_mqs(): the first reference, on the allocating CPU. */
  alloc(cpu: number): void {
    if (this.reg !== null) throw new ModelError(`${this.name} is allocated already`);
    this.requireOnline(cpu, 'alloc');
    this.reg = 'uninitialized';
    this.pcpu?.hold(cpu);
    this.refcount?.set(1);
  }

  /**
   * init_dummy_netdev(): no per-CPU counter in 6.1 (net/core/dev.c
   * init_dummy_netdev never calls alloc_percpu), so there is nothing to read
   * on a per-CPU kernel; on a refcount_t kernel the zeroed refcount reads 0.
   */
  initDummy(): void {
    if (this.reg !== null) throw new ModelError(`${this.name} exists already`);
    this.reg = 'dummy';
    this.dummy = true;
  }

  /**
   * Whether dev_hold/dev_put may touch this device at all: not a dummy on a
   * per-CPU kernel (its pcpu_refcnt is NULL). A dummy's zeroed refcount_t is
   * a count like any other, one a hold must complain about.
   */
  get counted(): boolean {
    return !(this.dummy && this.pcpu);
  }

  /** register_netdev() returned: the kernel's own references are now unknown until measured. */
  register(): void {
    if (this.reg !== 'uninitialized') throw new ModelError(`${this.name} cannot be registered from ${this.reg}`);
    this.reg = 'registered';
  }

  /** Adopt the measured counters as the baseline. Returns the baseline sum. */
  adoptBaseline(reading: DeviceReading): number {
    if (this.pcpu) {
      if (!reading.pcpu) throw new ModelError(`${this.name}: the kernel reports no per-CPU counters on a per-CPU kernel`);
      this.pcpu.set(reading.pcpu);
      return this.pcpu.read();
    }
    if (reading.refcnt === null) throw new ModelError(`${this.name}: the kernel reports no reference count`);
    this.refcount?.set(reading.refcnt);
    return reading.refcnt;
  }

  /** dev_hold() x count on CPU `cpu`: the counter it moves, whoever owns the references. */
  private countHold(cpu: number, count: number): void {
    this.requireOnline(cpu, 'hold');
    this.pcpu?.hold(cpu, count);
    this.refcount?.hold(count);
    this.noTracker?.hold(count);
  }

  hold(cpu: number, count: number): void {
    this.countHold(cpu, count);
    this.held += count;
  }

  /** References a notifier holds: dropped by it when NETDEV_UNREGISTER is sent. */
  holdNotifier(cpu: number, count: number): void {
    this.countHold(cpu, count);
    this.nheld += count;
  }

  /**
   * References the notifier drops only on a repeated NETDEV_UNREGISTER:
   * unregister_netdevice_many() sends the first, netdev_wait_allrefs_any()
   * re-sends it once a second while it waits (net/core/dev.c), so they hold
   * unregister for about a second.
   */
  holdRebroadcast(cpu: number, count: number): void {
    this.countHold(cpu, count);
    this.nlate += count;
  }

  /** The wait loop re-sent NETDEV_UNREGISTER: the late holder lets go. */
  rebroadcast(): void {
    if (this.unreg !== 'pending') throw new ModelError(`${this.name}: no unregister is waiting to re-send NETDEV_UNREGISTER`);
    this.nlate = 0;
  }

  /** References that keep a started unregister waiting: ours, the tracked one, the late holder's. */
  get pendingReferences(): number {
    return this.held + (this.tracked ? 1 : 0) + this.nlate;
  }

  /**
   * dev_put() x count. Beyond what we hold only while unregister waits on a
   * per-CPU kernel: the kernel's own references are gone by then, so the sum
   * falls below 1 (to 0 or less) and netdev_wait_allrefs_any(), which waits
   * for exactly 1, goes on waiting and warning until a hold pays it back.
   */
  put(cpu: number, count: number): void {
    this.requireOnline(cpu, 'put');
    const pastOne = this.unreg === 'pending' && this.pcpu !== null;
    if (count > this.held && !pastOne) throw new ModelError(`put ${count} on ${this.name}: only ${this.held} held`);
    this.pcpu?.put(cpu, count);
    this.refcount?.put(count);
    this.noTracker?.put(count);
    this.held -= count;
  }

  /**
   * netdev_hold() with a tracker: counted like any hold, but the tracker
   * records it (with its stack) instead of no_tracker, and reports it as
   * "leaked reference." while unregister waits for it.
   */
  holdTracked(cpu: number): void {
    this.requireOnline(cpu, 'hold');
    this.pcpu?.hold(cpu, 1);
    this.refcount?.hold(1);
    this.tracked = true;
  }

  putTracked(cpu: number): void {
    this.requireOnline(cpu, 'put');
    if (!this.tracked) throw new ModelError(`${this.name}: no tracked reference to put`);
    this.pcpu?.put(cpu, 1);
    this.refcount?.put(1);
    this.tracked = false;
  }

  /**
   * One dev_put() nobody's hold pays for. A per-CPU counter just drops (the
   * sum may reach 0 or below, silently); a refcount_t, the device's own or
   * the tracker's no_tracker, warns "decrement hit 0" and saturates.
   */
  putUnowned(cpu: number): void {
    this.requireOnline(cpu, 'put');
    this.pcpu?.put(cpu, 1);
    this.refcount?.put(1);
    this.noTracker?.put(1);
    this.held -= 1;
  }

  /**
   * The console lines the kernel must have printed for this device, in order
   * of kind: each refcount_t complaint with its WARNING in lib/refcount.c,
   * and ref_tracker_dir_exit()'s WARNING when a device whose no_tracker is
   * not back at 1 is freed. Both are WARN_ONCE (per kind, per boot): what
   * this boot printed before (printedThisBoot, by title) is not printed again.
   */
  expectedWarnings(printedThisBoot: ReadonlySet<string> = new Set()): string[] {
    const counts = new Set([...(this.refcount?.warnings ?? []), ...(this.noTracker?.warnings ?? [])]);
    const fresh = [...counts].filter((w) => !printedThisBoot.has(`refcount_t: ${w}`));
    return [
      ...fresh.flatMap((w) => [`refcount_t: ${w}`, 'WARNING at lib/refcount.c']),
      ...[...new Set(this.warnings)].filter((w) => !printedThisBoot.has(w)),
    ];
  }

  /**
   * unregister_netdev() called. By the time it waits for references,
   * netdev_run_todo() has already set NETREG_UNREGISTERED (net/core/dev.c
   * 10557, before netdev_wait_allrefs_any at 10563): a pending unregister
   * reads "unregistered".
   */
  unregisterStarted(): void {
    if (this.reg !== 'registered') throw new ModelError(`${this.name} cannot be unregistered from ${this.reg}`);
    this.unreg = 'pending';
    this.reg = 'unregistered';
    // unregister_netdevice_many() sends NETDEV_UNREGISTER: the notifier lets go.
    this.nheld = 0;
    // The kernel drops its own references now, on CPUs the model cannot know.
    this.perCpuKnown = false;
    // A refcount_t has no per-CPU split: once the kernel's own references are
    // gone it reads the initial one plus ours (unless a misuse saturated it).
    if (this.refcount && this.refcount.read() > 0) this.refcount.set(1 + this.pendingReferences);
  }

  /**
   * netdev_run_todo() returned: the wait ended when the sum reached 1, so
   * every kernel reference but the initial one is gone and ours are too.
   * Which CPU each of the kernel's puts ran on is not knowable: per-CPU
   * values are no longer predicted, only their sum.
   */
  unregisterCompleted(): void {
    if (this.unreg !== 'pending') {
      throw new ModelError(`${this.name} cannot finish unregistering from ${this.reg}`);
    }
    if (this.pendingReferences !== 0) throw new ModelError(`${this.name}: unregister cannot complete with references held`);
    this.unreg = 'done';
    this.refcount?.set(1);
  }

  free(): void {
    // free_netdev() -> ref_tracker_dir_exit(): WARN_ON_ONCE(no_tracker != 1).
    if (this.noTracker && this.noTracker.read() !== 1) this.warnings.push('WARNING at lib/ref_tracker.c');
    this.reg = null;
  }

  predict(): Prediction {
    if (this.reg === null) return { present: false };
    const p: Prediction = { present: true, reg: this.reg, unreg: this.unreg, held: this.held, nheld: this.nheld, nlate: this.nlate };
    // Once nothing is held, a pending unregister finishes on its own within
    // the wait loop's backoff (<= 250 ms): whether a reading still sees it
    // pending is a race, so the state is not predicted until it is observed done.
    if (this.unreg === 'pending' && this.pendingReferences === 0 && this.nheld === 0) delete p.unreg;
    if (this.dummy) {
      p.refcnt = this.refcount ? this.refcount.read() : null;
      p.pcpu = null;
      return p;
    }
    if (this.pcpu && this.perCpuKnown) {
      p.refcnt = this.pcpu.read();
      p.pcpu = Object.fromEntries([...this.pcpu.perCpu()].map(([cpu, v]) => [String(cpu), v]));
    } else if (this.pcpu) {
      p.refcnt = int32(1 + this.pendingReferences);
    } else if (this.refcount) {
      p.refcnt = this.refcount.read();
      p.pcpu = null;
    }
    if (this.pcpu && typeof p.refcnt === 'number') p.pcpuSum = p.refcnt;
    return p;
  }
}

/** Reduce a reading to the fields a prediction names, for comparison and diffs. */
export function observe(reading: DeviceReading | undefined, prediction: Prediction): Prediction {
  if (!reading) return { present: false };
  const o: Prediction = { present: true };
  if ('reg' in prediction) o.reg = reading.reg;
  if ('unreg' in prediction) o.unreg = reading.unreg;
  if ('held' in prediction) o.held = reading.held;
  if ('nheld' in prediction) o.nheld = reading.nheld;
  if ('nlate' in prediction) o.nlate = reading.nlate;
  if ('refcnt' in prediction) o.refcnt = reading.refcnt;
  if ('pcpu' in prediction) {
    o.pcpu = reading.pcpu ? Object.fromEntries([...reading.pcpu].map(([cpu, v]) => [String(cpu), v])) : null;
  }
  if ('pcpuSum' in prediction) {
    let sum = 0;
    for (const v of reading.pcpu?.values() ?? []) sum = int32(sum + v);
    o.pcpuSum = reading.pcpu ? sum : Number.NaN;
  }
  return o;
}
