/** What the kernel under test is, as the module reports it. */
export type Variant = 'pcpu' | 'refcount';

export interface Topology {
  nrCpuIds: number;
  possible: number[];
  online: number[];
}

/** dev->reg_state, in the words of include/linux/netdevice.h. */
export type RegState = 'uninitialized' | 'registered' | 'unregistering' | 'unregistered' | 'released' | 'dummy';

/** The module's own view of an unregister it started. */
export type UnregState = 'none' | 'pending' | 'done';

/** One device as read from the kernel (refprobe's devices file). */
export interface DeviceReading {
  name: string;
  reg: RegState;
  unreg: UnregState;
  /** References the module holds (its holds minus its puts). */
  held: number;
  /** References the module's netdevice notifier drops on NETDEV_UNREGISTER. */
  nheld: number;
  /** References it drops only on a repeated NETDEV_UNREGISTER (the wait loop's rebroadcast). */
  nlate: number;
  /** NETDEV_UNREGISTER notifications the device has seen: the first, then one per rebroadcast of the wait loop. */
  unregEvents: number;
  /** How long the module's last unregister of it took, in guest microseconds (null until it returned). */
  unregUs: number | null;
  /** Whether the module holds its one tracked reference (hold_tracked). */
  tracked: boolean;
  /** netdev_refcnt_read(), or null where it cannot be read (a per-CPU kernel's dummy device). */
  refcnt: number | null;
  /** Every possible CPU's counter, or null where there is none (refcount_t, dummy). */
  pcpu: Map<number, number> | null;
}

/**
 * What the model says a reading must show. Only the fields set are checked;
 * a field the model cannot know (the per-CPU split of the kernel's own puts
 * during unregister, say) is left out rather than guessed.
 */
export interface Prediction {
  present: boolean;
  reg?: RegState;
  unreg?: UnregState;
  held?: number;
  nheld?: number;
  nlate?: number;
  refcnt?: number | null;
  /** CPU -> counter, as a plain object so it prints and diffs well. */
  pcpu?: Record<string, number> | null;
  /** The int sum of the per-CPU counters the kernel showed; must equal refcnt. */
  pcpuSum?: number;
}

/** The observed reading, reduced to the fields a prediction checks. */
export type Observation = Prediction;
