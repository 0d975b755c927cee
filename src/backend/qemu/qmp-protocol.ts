/**
 * QEMU's machine protocol (QMP) on the wire. Pure: encodes commands and
 * decodes what QEMU sends, with no socket in sight, so every case is tested
 * without QEMU (test/unit/qmp.test.ts).
 *
 *   QEMU -> us   {"QMP": {"version": ..., "capabilities": [...]}}     greeting, once
 *                {"return": VALUE, "id": N}                           a command succeeded
 *                {"error": {"class": C, "desc": D}, "id": N}          a command failed
 *                {"event": NAME, "data": {...}, "timestamp": {...}}   whenever it happens
 *   us -> QEMU   {"execute": CMD, "arguments": {...}, "id": N}
 *
 * QEMU ends every message with "\r\n" and never breaks one over lines, so the
 * stream is split into lines and each line is one JSON object.
 */

export interface QmpEvent {
  name: string;
  data: Record<string, unknown>;
  /** When QEMU raised it, in milliseconds since the epoch (its own clock). */
  timestampMs: number;
}

export type QmpMessage =
  | { kind: 'greeting'; version: string }
  | { kind: 'return'; id: number | null; value: unknown }
  | { kind: 'error'; id: number | null; errorClass: string; desc: string }
  | { kind: 'event'; event: QmpEvent }
  /** A line that is not a QMP message: kept so a caller can say what QEMU sent. */
  | { kind: 'garbage'; line: string; reason: string };

export function encodeCommand(id: number, execute: string, args?: Record<string, unknown>): string {
  return `${JSON.stringify(args === undefined ? { execute, id } : { execute, arguments: args, id })}\n`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idOf(msg: Record<string, unknown>): number | null {
  return typeof msg.id === 'number' ? msg.id : null;
}

function timestampMs(ts: unknown): number {
  if (!isRecord(ts) || typeof ts.seconds !== 'number' || typeof ts.microseconds !== 'number') return Number.NaN;
  return ts.seconds * 1000 + Math.floor(ts.microseconds / 1000);
}

function versionOf(greeting: Record<string, unknown>): string {
  const q = isRecord(greeting.version) ? greeting.version.qemu : undefined;
  if (!isRecord(q)) return 'unknown';
  return [q.major, q.minor, q.micro].every((n) => typeof n === 'number') ? `${q.major}.${q.minor}.${q.micro}` : 'unknown';
}

/** One line from QEMU; null for a blank line. */
export function parseMessage(line: string): QmpMessage | null {
  const text = line.trim();
  if (text === '') return null;
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (e) {
    return { kind: 'garbage', line: text, reason: `not JSON (${(e as Error).message})` };
  }
  if (!isRecord(msg)) return { kind: 'garbage', line: text, reason: 'not a JSON object' };
  if (isRecord(msg.QMP)) return { kind: 'greeting', version: versionOf(msg.QMP) };
  if ('return' in msg) return { kind: 'return', id: idOf(msg), value: msg.return };
  if (isRecord(msg.error)) {
    const { class: errorClass, desc } = msg.error;
    return {
      kind: 'error',
      id: idOf(msg),
      errorClass: typeof errorClass === 'string' ? errorClass : 'unknown',
      desc: typeof desc === 'string' ? desc : JSON.stringify(msg.error),
    };
  }
  if (typeof msg.event === 'string') {
    return { kind: 'event', event: { name: msg.event, data: isRecord(msg.data) ? msg.data : {}, timestampMs: timestampMs(msg.timestamp) } };
  }
  return { kind: 'garbage', line: text, reason: 'neither a greeting, a reply nor an event' };
}

/** Splits QEMU's byte stream into lines and decodes each; chunks may split anywhere. */
export class QmpDecoder {
  private pending = '';

  push(chunk: string): QmpMessage[] {
    this.pending += chunk;
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    const out: QmpMessage[] = [];
    for (const line of lines) {
      const m = parseMessage(line);
      if (m) out.push(m);
    }
    return out;
  }
}
