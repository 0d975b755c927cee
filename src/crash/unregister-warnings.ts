/**
 * The wait loop's "waiting for NAME to become free. Usage count = N" lines
 * of one device, with the guest time each was printed at (the console's
 * printk stamp, which a serial console and /dev/kmsg both carry here). Pure.
 * The guest's own clock is what netdev_unregister_timeout_secs is measured
 * in: the spacing of two lines is read from it, not from when the host saw them.
 */

export interface UsageWarning {
  /** Index into the console lines. */
  index: number;
  /** Guest time in ms (printk's local_clock), NaN for a line without a stamp. */
  atMs: number;
  usage: number;
}

const STAMP = /^\[\s*(\d+)\.(\d{6})\]/;

export function usageWarnings(lines: readonly string[], name: string, from = 0): UsageWarning[] {
  const re = new RegExp(`unregister_netdevice: waiting for ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} to become free\\. Usage count = (-?\\d+)`);
  const out: UsageWarning[] = [];
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const m = re.exec(line);
    if (!m) continue;
    const s = STAMP.exec(line);
    const atMs = s ? Number(s[1]) * 1000 + Number(s[2]) / 1000 : Number.NaN;
    out.push({ index: i, atMs, usage: Number(m[1]) });
  }
  return out;
}
