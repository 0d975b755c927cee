/**
 * The command channel's wire format, shared with the guest agent (vm/guest/init).
 * Pure: encodes requests and decodes replies from a byte stream.
 *
 *   host -> guest   "<id> <base64 script>\n"           run the script with sh
 *                   "<id> W <file> <text>\n"            write one line to a file
 *                   "<id> R <file>\n"                   read a text file
 *                   "@@QUIT\n"                          stop the agent
 *   guest -> host   "@@RP READY\n"                      agent started
 *                   "@@RP DONE <id> <rc> <b64 out> <b64 err>\n"   a script's end
 *                   "@@RP O <id> <line>\n"              a line of W/R's output
 *                   "@@RP E <id> <line>\n"              a line of W/R's errors
 *                   "@@RP END <id> <rc>\n"              W/R's end
 *
 * A script runs in a forked sh, and base64 keeps the framing unambiguous
 * whatever it prints (an empty output travels as "-"). W and R run on the
 * agent's shell built-ins, with no fork at all: they carry only what a line
 * can (a ctl command, a debugfs text file). Anything else on the line
 * (kernel noise, a stray echo) is ignored.
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

/** A path the agent's read can take as one word. */
function checkPath(file: string): void {
  if (!/^\/[\w./+-]+$/.test(file)) throw new Error(`not a plain absolute path for the agent: ${JSON.stringify(file)}`);
}

export function encodeWrite(id: number, file: string, text: string): string {
  checkPath(file);
  // read(1) strips the line's leading and trailing blanks, and a newline would end the request.
  if (/[\n\r]/.test(text) || text !== text.trim() || text === '') throw new Error(`not one trimmed line for the agent to write: ${JSON.stringify(text)}`);
  return `${id} W ${file} ${text}\n`;
}

export function encodeRead(id: number, file: string): string {
  checkPath(file);
  return `${id} R ${file}\n`;
}

function b64(field: string): string {
  return field === '-' ? '' : Buffer.from(field, 'base64').toString('utf8');
}

/** One line of a fork-free command's output or errors, or its end. */
export type LineEvent = { kind: 'line'; id: number; stream: 'out' | 'err'; text: string } | { kind: 'end'; id: number; exitCode: number };

const LINE = /@@RP ([OE]) (\d+) (.*)$/;
const END = /@@RP END (\d+) (-?\d+)\s*$/;

export function decodeLine(line: string): ChannelEvent | LineEvent | null {
  const at = line.indexOf('@@RP ');
  if (at < 0) return null;
  const l = LINE.exec(line);
  if (l) return { kind: 'line', id: Number(l[2]), stream: l[1] === 'O' ? 'out' : 'err', text: l[3] ?? '' };
  const e = END.exec(line);
  if (e) return { kind: 'end', id: Number(e[1]), exitCode: Number(e[2]) };
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

/** Splits a byte stream into lines and decodes the channel's events; a fork-free command's lines are gathered into one reply at its end. */
export class ReplyDecoder {
  private pending = '';
  private readonly partial = new Map<number, { stdout: string; stderr: string }>();

  push(chunk: string): ChannelEvent[] {
    this.pending += chunk;
    const lines = this.pending.split(/\r?\n/);
    this.pending = lines.pop() ?? '';
    const events: ChannelEvent[] = [];
    for (const line of lines) {
      const e = decodeLine(line);
      if (!e) continue;
      if (e.kind === 'line') {
        const p = this.partial.get(e.id) ?? { stdout: '', stderr: '' };
        if (e.stream === 'out') p.stdout += `${e.text}\n`;
        else p.stderr += `${e.text}\n`;
        this.partial.set(e.id, p);
      } else if (e.kind === 'end') {
        const p = this.partial.get(e.id) ?? { stdout: '', stderr: '' };
        this.partial.delete(e.id);
        events.push({ kind: 'done', reply: { id: e.id, exitCode: e.exitCode, ...p } });
      } else events.push(e);
    }
    return events;
  }
}
