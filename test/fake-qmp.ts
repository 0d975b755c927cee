/**
 * A fake QEMU QMP monitor on a unix socket, for unit tests of the QMP client
 * and what is built on it: greets like QEMU 7.2, answers each command through
 * a callback, and can send events or hang up.
 */
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const GREETING = '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}';

export interface QmpCommand {
  execute: string;
  id: number;
  arguments?: Record<string, unknown>;
}

export interface FakeQemu {
  socketPath: string;
  send: (line: string) => void;
  hangUp: () => void;
  close: () => Promise<void>;
}

export async function fakeQemu(answer: (cmd: QmpCommand, send: (line: string) => void) => void): Promise<FakeQemu> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qmp-test-'));
  const socketPath = path.join(dir, 'qmp.sock');
  let peer: net.Socket | null = null;
  const send = (line: string): void => void peer?.write(`${line}\r\n`);
  const server = net.createServer((s) => {
    peer = s;
    s.setEncoding('utf8');
    s.write(`${GREETING}\r\n`);
    let buf = '';
    s.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) answer(JSON.parse(l) as QmpCommand, send);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const close = async (): Promise<void> => {
    peer?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };
  return { socketPath, send, hangUp: () => peer?.destroy(), close };
}
