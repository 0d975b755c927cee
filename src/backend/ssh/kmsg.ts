/**
 * A running machine's kernel log as the run's console (pure). Over SSH the
 * harness reads /dev/kmsg: every record still in the ring buffer, then the
 * new ones as they come. Records are "PRI,SEQ,USEC,FLAGS;text", with
 * continuation lines (" KEY=VALUE") after some and bytes outside printable
 * ASCII escaped as \xNN. They become lines as a serial console prints
 * them ("[   12.345678] text"), so the crash classifier reads both the same.
 *
 * What the machine logged before the run (an old WARN, its boot) is not
 * the run's: the harness writes a marker line to /dev/kmsg once the stream
 * is open, and everything up to it is dropped.
 */

export interface KmsgRecord {
  level: number;
  seq: number;
  usec: number;
  text: string;
}

const RECORD = /^(\d+),(\d+),(\d+),[^;]*;(.*)$/;

/** One record line, or null for a continuation or anything else. */
export function parseKmsgRecord(line: string): KmsgRecord | null {
  const m = RECORD.exec(line);
  if (!m) return null;
  const text = (m[4] ?? '').replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return { level: Number(m[1]) & 7, seq: Number(m[2]), usec: Number(m[3]), text };
}

/** The record as the kernel prints it on a console with printk times. */
export function consoleLines(r: KmsgRecord): string[] {
  const secs = Math.floor(r.usec / 1e6);
  const frac = String(r.usec % 1e6).padStart(6, '0');
  const stamp = `[${String(secs).padStart(5, ' ')}.${frac}]`;
  return r.text.split('\n').map((t) => `${stamp} ${t}`);
}

export function kmsgMarker(runId: string): string {
  return `refprobe-harness: run ${runId} starts`;
}

/** Turns the /dev/kmsg byte stream into console lines, from the marker on. */
export class KmsgConsole {
  private pending = '';
  private seen = false;
  private lastSeq = -1;
  /** Sequence numbers skipped: records the ring buffer dropped before they were read. */
  lost = 0;

  constructor(private readonly marker: string) {}

  /** True once the marker came by: from then on every record is the run's. */
  get started(): boolean {
    return this.seen;
  }

  push(chunk: string): string[] {
    this.pending += chunk;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    const out: string[] = [];
    for (const line of lines) {
      const r = parseKmsgRecord(line);
      // A reader the ring buffer overtook gets EPIPE and opens it again from the oldest record: what it had is not new.
      if (!r || r.seq <= this.lastSeq) continue;
      if (this.seen && r.seq > this.lastSeq + 1) this.lost += r.seq - this.lastSeq - 1;
      this.lastSeq = r.seq;
      if (!this.seen && r.text === this.marker) this.seen = true;
      if (this.seen) out.push(...consoleLines(r));
    }
    return out;
  }
}
