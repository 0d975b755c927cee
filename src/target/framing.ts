/**
 * The command channel's wire format, shared with the guest agent (vm/init).
 * Pure: encodes requests and decodes replies from a byte stream.
 *
 *   host -> guest   "<id> <base64 script>\n"           run the script with sh
 *                   "@@QUIT\n"                          stop the agent
 *   guest -> host   "@@RP READY\n"                      agent started
 *                   "@@RP DONE <id> <rc> <b64 out> <b64 err>\n"
 *
 * Base64 keeps the framing unambiguous whatever a command prints; an empty
 * output travels as "-". Anything else on the line (kernel noise, a stray
 * echo) is ignored.
 */

export interface Reply {
  id: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type ChannelEvent = { kind: 'ready' } | { kind: 'done'; reply: Reply };

export const QUIT = '@@QUIT\n';

export function encodeRequest(id: number, script: string): string {
  return `${id} ${Buffer.from(script, 'utf8').toString('base64')}\n`;
}

function b64(field: string): string {
  return field === '-' ? '' : Buffer.from(field, 'base64').toString('utf8');
}

export function decodeLine(line: string): ChannelEvent | null {
  const at = line.indexOf('@@RP ');
  if (at < 0) return null;
  const f = line.slice(at + 5).trim().split(' ');
  if (f[0] === 'READY') return { kind: 'ready' };
  if (f[0] === 'DONE' && f.length === 5) {
    const id = Number(f[1]);
    const exitCode = Number(f[2]);
    if (!Number.isInteger(id) || !Number.isInteger(exitCode)) return null;
    return { kind: 'done', reply: { id, exitCode, stdout: b64(f[3] ?? '-'), stderr: b64(f[4] ?? '-') } };
  }
  return null;
}

/** Splits a byte stream into lines and decodes the channel's events. */
export class ReplyDecoder {
  private pending = '';

  push(chunk: string): ChannelEvent[] {
    this.pending += chunk;
    const lines = this.pending.split(/\r?\n/);
    this.pending = lines.pop() ?? '';
    const events: ChannelEvent[] = [];
    for (const line of lines) {
      const e = decodeLine(line);
      if (e) events.push(e);
    }
    return events;
  }
}
