import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { fakeQemu, GREETING } from '../fake-qmp.js';
import { encodeCommand, parseMessage, QmpDecoder, type QmpMessage } from '../../src/backend/qemu/qmp-protocol.js';
import { QmpClient, QmpCommandError } from '../../src/backend/qemu/qmp.js';

// Lines as QEMU 7.2 sent them here (device_del of a -device CPU).
const OST_EJECTING = '{"timestamp": {"seconds": 1796091904, "microseconds": 612345}, "event": "ACPI_DEVICE_OST", "data": {"info": {"device": "cpu1", "source": 3, "status": 132, "slot": "1", "slot-type": "CPU"}}}';
const DELETED_LAPIC = '{"timestamp": {"seconds": 1796091904, "microseconds": 688000}, "event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/cpu1/lapic"}}';

t.test('a command is one JSON line with its id, arguments only when given', async (t) => {
  t.equal(encodeCommand(1, 'qmp_capabilities'), '{"execute":"qmp_capabilities","id":1}\n');
  const line = encodeCommand(7, 'device_del', { id: '/machine/peripheral/cpu1' });
  t.match(line, /\n$/);
  t.same(JSON.parse(line), { execute: 'device_del', arguments: { id: '/machine/peripheral/cpu1' }, id: 7 });
});

t.test('messages: greeting, return, error, event, and what is none of them', async (t) => {
  t.same(parseMessage(GREETING), { kind: 'greeting', version: '7.2.22' });
  t.same(parseMessage('{"return": {}, "id": 1}'), { kind: 'return', id: 1, value: {} });
  t.same(parseMessage('{"return": [{"type": "max-x86_64-cpu"}]}'), { kind: 'return', id: null, value: [{ type: 'max-x86_64-cpu' }] });
  t.same(parseMessage('{"id": 3, "error": {"class": "DeviceNotFound", "desc": "Device \'cpu9\' not found"}}'), {
    kind: 'error',
    id: 3,
    errorClass: 'DeviceNotFound',
    desc: "Device 'cpu9' not found",
  });
  t.same(parseMessage(OST_EJECTING), {
    kind: 'event',
    event: {
      name: 'ACPI_DEVICE_OST',
      data: { info: { device: 'cpu1', source: 3, status: 132, slot: '1', 'slot-type': 'CPU' } },
      timestampMs: 1796091904612,
    },
  });
  const noData = parseMessage('{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 0}}');
  t.same(noData, { kind: 'event', event: { name: 'RESUME', data: {}, timestampMs: 1000 } }, 'an event without data has empty data');
  t.equal(parseMessage('   '), null, 'a blank line is nothing');
  t.match(parseMessage('{"return": '), { kind: 'garbage', reason: /not JSON/ });
  t.match(parseMessage('[1, 2]'), { kind: 'garbage', reason: 'not a JSON object' });
  t.match(parseMessage('{"hello": 1}'), { kind: 'garbage', reason: /neither/ });
  t.match(parseMessage('{"error": {}, "id": 2}'), { kind: 'error', id: 2, errorClass: 'unknown' }, 'an error without class still fails its command');
});

t.test('the decoder copes with chunks split anywhere and CRLF', async (t) => {
  const stream = `${GREETING}\r\n{"return": {}, "id": 1}\r\n${OST_EJECTING}\r\n${DELETED_LAPIC}\r\n{"return": {}, "id": 2}\r\n`;
  const kinds = (ms: QmpMessage[]): string[] => ms.map((m) => (m.kind === 'event' ? m.event.name : m.kind === 'return' ? `return ${m.id}` : m.kind));
  for (const size of [1, 5, 64, stream.length]) {
    const d = new QmpDecoder();
    const out: QmpMessage[] = [];
    for (let i = 0; i < stream.length; i += size) out.push(...d.push(stream.slice(i, i + size)));
    t.same(kinds(out), ['greeting', 'return 1', 'ACPI_DEVICE_OST', 'DEVICE_DELETED', 'return 2'], `chunks of ${size}`);
  }
  t.same(new QmpDecoder().push(GREETING), [], 'nothing until the line ends');
});

t.test('client: handshake, a command, an error, events before and after the wait', async (t) => {
  const q = await fakeQemu((cmd, send) => {
    if (cmd.execute === 'qmp_capabilities') send(`{"return": {}, "id": ${cmd.id}}`);
    else if (cmd.execute === 'device_del' && cmd.arguments?.id === '/machine/peripheral/cpu1') {
      // QEMU may send the events before the reply: the client must keep them.
      send(OST_EJECTING);
      send(DELETED_LAPIC);
      send(`{"return": {}, "id": ${cmd.id}}`);
    } else send(`{"error": {"class": "DeviceNotFound", "desc": "Device '${String(cmd.arguments?.id)}' not found"}, "id": ${cmd.id}}`);
  });
  t.teardown(q.close);
  const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 2000 });
  t.teardown(() => qmp.close());
  t.equal(qmp.version, '7.2.22');
  const since = qmp.events.length;
  t.same(await qmp.execute('device_del', { id: '/machine/peripheral/cpu1' }), {});
  const deleted = await qmp.waitEvent('DEVICE_DELETED', (e) => String(e.data.path).startsWith('/machine/peripheral/cpu1/'), 1000, since);
  t.equal(deleted.data.path, '/machine/peripheral/cpu1/lapic', 'an event that came before the wait is found');
  await t.rejects(qmp.execute('device_del', { id: 'cpu9' }), new QmpCommandError('device_del', 'DeviceNotFound', "Device 'cpu9' not found"));
  const later = qmp.waitEvent('DEVICE_DELETED', (e) => e.data.path === '/machine/peripheral/cpu2', 1000);
  q.send('{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/cpu2"}, "timestamp": {"seconds": 2, "microseconds": 0}}');
  t.equal((await later).data.path, '/machine/peripheral/cpu2', 'an event that comes during the wait is found');
  t.equal(qmp.events.length, 3);
});

t.test('client: every wait has a timeout that says what failed', async (t) => {
  const q = await fakeQemu((cmd, send) => {
    if (cmd.execute === 'qmp_capabilities') send(`{"return": {}, "id": ${cmd.id}}`);
    // Anything else: no answer.
  });
  t.teardown(q.close);
  const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 2000 });
  t.teardown(() => qmp.close());
  await t.rejects(qmp.execute('query-status', undefined, 50), /QMP query-status: no reply from QEMU within 50 ms/);
  q.send(OST_EJECTING);
  await t.rejects(
    qmp.waitEvent('DEVICE_DELETED', () => true, 50),
    /QMP event DEVICE_DELETED did not come within 50 ms \(events since: ACPI_DEVICE_OST\)/,
  );
  const pending = qmp.execute('query-status', undefined, 5000);
  const waiting = qmp.waitEvent('DEVICE_DELETED', () => true, 5000);
  q.hangUp();
  await t.rejects(pending, /QMP query-status: the QMP connection to QEMU was lost.*did QEMU exit\?/, 'a lost connection fails the command at once');
  await t.rejects(waiting, /waiting for a QMP event: the QMP connection to QEMU was lost/, 'and the event wait');
  t.equal(qmp.closed, true);
  await t.rejects(qmp.execute('query-status'), /the QMP connection to QEMU was lost/, 'and every later command');
});

t.test('client: no socket, or a socket that never greets', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qmp-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.rejects(QmpClient.connect(path.join(dir, 'none.sock'), { timeoutMs: 150 }), /cannot connect to QEMU's QMP socket .*none\.sock within 150 ms/);
  const silent = path.join(dir, 'silent.sock');
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(silent, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await t.rejects(QmpClient.connect(silent, { timeoutMs: 150 }), /no QMP greeting/);
});
