import t from 'tap';
import { decodeLine, encodeRequest, ReplyDecoder } from '../../src/backend/agent/framing.js';

const b64 = (s: string): string => (s ? Buffer.from(s).toString('base64') : '-');

t.test('a request is one line: id and the base64 script', async (t) => {
  const line = encodeRequest(7, "echo 'a b'\ncat /x\n");
  t.match(line, /^7 [A-Za-z0-9+/=]+\n$/);
  t.equal(Buffer.from(line.split(' ')[1] ?? '', 'base64').toString(), "echo 'a b'\ncat /x\n");
});

t.test('replies decode with output, errors and status', async (t) => {
  t.same(decodeLine(`@@RP DONE 3 1 ${b64('out\n')} ${b64('sh: write error: Invalid argument\n')}`), {
    kind: 'done',
    reply: { id: 3, exitCode: 1, stdout: 'out\n', stderr: 'sh: write error: Invalid argument\n' },
  });
  t.same(decodeLine('@@RP DONE 4 0 - -'), { kind: 'done', reply: { id: 4, exitCode: 0, stdout: '', stderr: '' } });
  t.same(decodeLine('@@RP READY'), { kind: 'ready' });
  t.equal(decodeLine('[    1.0] random kernel line'), null);
  t.equal(decodeLine('@@RP DONE x 0 - -'), null, 'a malformed id is ignored, not misread');
});

t.test('the stream decoder copes with chunks split anywhere and CRLF', async (t) => {
  const stream = `noise\r\n@@RP READY\r\n@@RP DONE 1 0 ${b64('hello')} -\n@@RP DONE 2 2 - ${b64('bad')}\n`;
  for (const size of [1, 3, 7, stream.length]) {
    const d = new ReplyDecoder();
    const events = [];
    for (let i = 0; i < stream.length; i += size) events.push(...d.push(stream.slice(i, i + size)));
    t.same(
      events.map((e) => (e.kind === 'ready' ? 'ready' : `${e.reply.id}:${e.reply.exitCode}:${e.reply.stdout}:${e.reply.stderr}`)),
      ['ready', '1:0:hello:', '2:2::bad'],
      `chunks of ${size}`,
    );
  }
});

t.test('the fork-free requests: one line each, refused when a line cannot carry them', async (t) => {
  const { encodeRead, encodeWrite } = await import('../../src/backend/agent/framing.js');
  t.equal(encodeWrite(5, '/sys/kernel/debug/refprobe/ctl', 'hold rp0 1 3'), '5 W /sys/kernel/debug/refprobe/ctl hold rp0 1 3\n');
  t.equal(encodeRead(6, '/sys/kernel/debug/refprobe/devices'), '6 R /sys/kernel/debug/refprobe/devices\n');
  t.throws(() => encodeWrite(1, '/x', 'a\nb'), /not one trimmed line/);
  t.throws(() => encodeWrite(1, '/x', ' a'), /not one trimmed line/, 'read(1) would strip the blank');
  t.throws(() => encodeWrite(1, '/x', ''), /not one trimmed line/);
  t.throws(() => encodeRead(1, 'relative/x'), /not a plain absolute path/);
  t.throws(() => encodeRead(1, '/a b'), /not a plain absolute path/);
});

t.test('a fork-free reply: its lines gathered, in order, blanks kept, whatever the chunks', async (t) => {
  const stream = '@@RP O 9 name rp0 refcnt 1\r\n@@RP O 9   indented  \n@@RP O 9 \n@@RP O 10 other\n@@RP E 9 sh: write error: Invalid argument\n@@RP END 9 1\n@@RP END 10 0\n';
  for (const size of [1, 5, stream.length]) {
    const d = new ReplyDecoder();
    const events = [];
    for (let i = 0; i < stream.length; i += size) events.push(...d.push(stream.slice(i, i + size)));
    t.same(events, [
      { kind: 'done', reply: { id: 9, exitCode: 1, stdout: 'name rp0 refcnt 1\n  indented  \n\n', stderr: 'sh: write error: Invalid argument\n' } },
      { kind: 'done', reply: { id: 10, exitCode: 0, stdout: 'other\n', stderr: '' } },
    ], `chunks of ${size}`);
  }
  t.same(decodeLine('@@RP END 3 0'), { kind: 'end', id: 3, exitCode: 0 });
});
