/**
 * When an unregister finishes, from the wait loop of Linux 6.1
 * (net/core/dev.c netdev_wait_allrefs_any). Pure.
 *
 * The loop checks the sum once before it sleeps: a device whose references
 * are all gone finishes then, before any rebroadcast. Otherwise it sleeps
 * with backoff (1, 2, 4 ... 250 ms, rcu_barrier() first), re-sends
 * NETDEV_UNREGISTER once more than a second has passed since it started
 * (time_after(jiffies, rebroadcast_time + HZ)), and prints the usage-count
 * line once more than netdev_unregister_timeout_secs have passed.
 */

/** The rebroadcast interval: 1 * HZ. */
export const REBROADCAST_MS = 1000;
/** The longest sleep between two checks of the sum. */
export const BACKOFF_MAX_MS = 250;

export interface Window {
  lo: number;
  hi: number;
  why: string;
}

/**
 * Emulation slack on top of the kernel's own delays: synchronize_net() and
 * rcu_barrier() under TCG on a loaded host (a balanced unregister was seen
 * to take 1.55 s with kernels building on both host cores), workqueue start.
 */
const SLACK_MS = 1500;

/**
 * NETDEV_UNREGISTER notifications a device sees: one from
 * unregister_netdevice_many(), then one per rebroadcast. A balanced device
 * (or one whose holders let go at the first) reads 1 right after the first
 * rcu_barrier() of the loop, before any rebroadcast is due: exactly 1. A
 * holder that lets go only at the repeated one: exactly 2. This count does
 * not depend on how fast the machine is; the times below do, so their upper
 * bounds carry the slack.
 */
export function unregisterEvents(rebroadcasts: number): number {
  return 1 + rebroadcasts;
}

/** A balanced unregister (or one whose holders let go at the first notification): no rebroadcast. */
export function noWaitWindow(): Window {
  return { lo: 0, hi: REBROADCAST_MS + SLACK_MS, why: `no rebroadcast needed: the sum reads 1 after the loop's first rcu_barrier(); ${SLACK_MS} ms of emulation slack` };
}

/** A holder that lets go only on the re-sent notification: one rebroadcast interval, plus the backoff that found it. */
export function rebroadcastWindow(): Window {
  return {
    lo: REBROADCAST_MS,
    hi: REBROADCAST_MS + 2 * BACKOFF_MAX_MS + SLACK_MS,
    why: `re-sent after more than ${REBROADCAST_MS} ms; seen within a ${BACKOFF_MAX_MS} ms sleep before and after it, plus ${SLACK_MS} ms of emulation slack`,
  };
}

/** The usage-count line: after netdev_unregister_timeout_secs, at the first check past it. */
export function warningWindow(timeoutSecs: number): Window {
  const lo = timeoutSecs * 1000;
  return { lo, hi: lo + BACKOFF_MAX_MS + 2 * SLACK_MS + 250, why: `printed once more than ${timeoutSecs} s have passed, at the next check (<= ${BACKOFF_MAX_MS} ms), seen through the console (polled every 100 ms)` };
}
