import t from 'tap';
import { decodeLine, encodeRequest, ReplyDecoder } from '../../src/target/framing.js';

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
