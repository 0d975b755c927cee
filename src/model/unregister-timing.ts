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

/** net.core.netdev_unregister_timeout_secs by default: when the usage-count warning is due. */
export const WARNING_MS = 10_000;

/**
 * Emulation slack on top of the kernel's own delays: under TCG on a loaded
 * host the guest's vCPUs wait for host cores while its clock runs on, so
 * every sleep ends late (seen here with two kernel builds on both cores: a
 * balanced unregister took 1.55 s, a rebroadcast one 3.8 s). The upper
 * bounds below are therefore loose; the exact, load-free evidence is the
 * notification count, and the lower bounds are strict.
 */
const SLACK_MS = 4000;

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

/**
 * A holder that lets go only on the re-sent notification: more than one
 * rebroadcast interval (strict), and before the usage-count warning would be
 * due (the kernel's loop needs one interval plus two backoff sleeps; the rest
 * is emulation slack).
 */
export function rebroadcastWindow(): Window {
  return {
    lo: REBROADCAST_MS,
    hi: WARNING_MS,
    why: `re-sent after more than ${REBROADCAST_MS} ms (strict); released before the ${WARNING_MS / 1000} s warning is due (the loop needs ${REBROADCAST_MS + 2 * BACKOFF_MAX_MS} ms, the rest is emulation slack)`,
  };
}

/** The usage-count line: after netdev_unregister_timeout_secs, at the first check past it. */
export function warningWindow(timeoutSecs: number): Window {
  const lo = timeoutSecs * 1000;
  return { lo, hi: lo + BACKOFF_MAX_MS + 2 * SLACK_MS + 250, why: `printed once more than ${timeoutSecs} s have passed, at the next check (<= ${BACKOFF_MAX_MS} ms), seen through the console (polled every 100 ms)` };
}

/**
 * Two consecutive usage-count lines, in guest time (printk stamps): the
 * loop sets warning_time = jiffies as it prints and prints again once
 * time_after(jiffies, warning_time + timeout * HZ), at its next check. So
 * more than timeoutSecs apart (strict: a jiffy past it), and at most one
 * backoff sleep, an rcu_barrier() and the emulation slack beyond.
 */
export function repeatWindow(timeoutSecs: number): Window {
  const lo = timeoutSecs * 1000;
  return {
    lo,
    hi: lo + BACKOFF_MAX_MS + SLACK_MS,
    why: `every netdev_unregister_timeout_secs (${timeoutSecs} s, strict) while references remain, at the next check (<= ${BACKOFF_MAX_MS} ms, plus ${SLACK_MS} ms of emulation slack); guest time from the printk stamps`,
  };
}
