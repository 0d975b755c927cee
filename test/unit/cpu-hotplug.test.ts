import t from 'tap';
import { fakeQemu, type QmpCommand } from '../fake-qmp.js';
import { formatCpuList } from '../../src/model/cpumask.js';
import { mapCpus, parseGuestCpus, parseHotpluggableCpus, QemuCpuHotplug } from '../../src/backend/qemu/qemu-cpu-hotplug.js';
import type { RunResult } from '../../src/backend/target.js';
import { QmpClient } from '../../src/backend/qemu/qmp.js';

// query-hotpluggable-cpus as QEMU 7.2 answered it for `-smp 1,sockets=4,...,maxcpus=4 -device ...,socket-id=1,id=cpu1`.
const SLOTS_2_OF_4 = JSON.parse(
  '[{"props":{"core-id":0,"thread-id":0,"socket-id":3},"vcpus-count":1,"type":"max-x86_64-cpu"},' +
    '{"props":{"core-id":0,"thread-id":0,"socket-id":2},"vcpus-count":1,"type":"max-x86_64-cpu"},' +
    '{"props":{"core-id":0,"thread-id":0,"socket-id":1},"vcpus-count":1,"qom-path":"/machine/peripheral/cpu1","type":"max-x86_64-cpu"},' +
    '{"props":{"core-id":0,"thread-id":0,"socket-id":0},"vcpus-count":1,"qom-path":"/machine/unattached/device[0]","type":"max-x86_64-cpu"}]',
) as unknown;

t.test('query-hotpluggable-cpus: slots, filled or not', async (t) => {
  const slots = parseHotpluggableCpus(SLOTS_2_OF_4);
  t.same(
    slots.map((s) => [s.socket, s.qomPath]),
    [
      [3, null],
      [2, null],
      [1, '/machine/peripheral/cpu1'],
      [0, '/machine/unattached/device[0]'],
    ],
  );
  t.equal(slots[0]?.type, 'max-x86_64-cpu');
  t.throws(() => parseHotpluggableCpus({}), /expected a list/);
  t.throws(() => parseHotpluggableCpus([{ type: 'x' }]), /entry without type or props/);
  t.throws(() => parseHotpluggableCpus([{ type: 'x', props: { 'core-id': 0 } }]), /without socket-id/);
});

t.test('guest CPUs: masks and package ids; an offline CPU shows none', async (t) => {
  const g = parseGuestCpus('possible 0-3\npresent 0-2\ncpu0 0\ncpu1 1\ncpu2 -\n');
  t.same(g.possible, [0, 1, 2, 3]);
  t.same(g.present, [0, 1, 2]);
  t.same([...g.packages], [[0, 0], [1, 1], [2, null]]);
  t.throws(() => parseGuestCpus('cpufreq x\n'), /cannot read "cpufreq x"/);
});

t.test('mapping: -device slots to guest CPUs by package id; empty sockets are free', async (t) => {
  const slots = parseHotpluggableCpus(SLOTS_2_OF_4);
  const map = mapCpus(slots, parseGuestCpus('possible 0-3\npresent 0-1\ncpu0 0\ncpu1 1\n'));
  t.same([...map.devices.keys()], [1], 'only the -device CPU is unpluggable, never the boot CPU');
  t.equal(map.devices.get(1)?.qomPath, '/machine/peripheral/cpu1');
  t.same(map.freeSockets, [2, 3]);
  // Guest numbers need not follow sockets: the mapping reads them.
  const swapped = mapCpus(slots, parseGuestCpus('possible 0-3\npresent 0,3\ncpu0 0\ncpu3 1\n'));
  t.same([...swapped.devices.keys()], [3]);
  const offline = mapCpus(slots, parseGuestCpus('possible 0-3\npresent 0-1\ncpu0 0\ncpu1 -\n'));
  t.same([...offline.devices.keys()], [], 'a CPU whose package cannot be read is left out, not guessed');
  const wide = [{ socket: 0, core: 1, thread: 0, type: 't', qomPath: null }];
  t.throws(() => mapCpus(wide, parseGuestCpus('present 0\n')), /one core of one thread per socket/);
});

/**
 * A guest with sockets 0..3 (CPU 0 boot, CPU 1 a -device) behind a fake QMP
 * that behaves as QEMU 7.2 did: device_del ejects (events, then the CPU
 * leaves present), device_add fills a socket and the guest numbers the CPU
 * next. A device_add after a device_del is recorded: QEMU crashed on it.
 */
async function fakeGuest(): Promise<{ qmp: QmpClient; run: (s: string) => Promise<RunResult>; commands: QmpCommand[]; close: () => Promise<void> }> {
  const present = new Map<number, number>([
    [0, 0],
    [1, 1],
  ]); // guest CPU -> socket
  const online = new Set([0, 1]);
  const filled = new Map<number, string>([
    [0, '/machine/unattached/device[0]'],
    [1, '/machine/peripheral/cpu1'],
  ]);
  let nextCpu = 2;
  const commands: QmpCommand[] = [];
  const q = await fakeQemu((cmd, send) => {
    commands.push(cmd);
    const ok = (): void => send(`{"return": {}, "id": ${cmd.id}}`);
    if (cmd.execute === 'qmp_capabilities') return ok();
    if (cmd.execute === 'query-hotpluggable-cpus') {
      const slots = [3, 2, 1, 0].map((s) => ({ props: { 'core-id': 0, 'thread-id': 0, 'socket-id': s }, 'vcpus-count': 1, type: 'max-x86_64-cpu', ...(filled.has(s) ? { 'qom-path': filled.get(s) } : {}) }));
      return send(JSON.stringify({ return: slots, id: cmd.id }));
    }
    if (cmd.execute === 'device_del') {
      const path = String(cmd.arguments?.id);
      const socket = [...filled].find(([, p]) => p === path)?.[0];
      if (socket === undefined) return send(`{"error": {"class": "DeviceNotFound", "desc": "Device '${path}' not found"}, "id": ${cmd.id}}`);
      ok();
      filled.delete(socket);
      // The guest ejects a moment later; QEMU reports the CPU's lapic child.
      setTimeout(() => {
        send(`{"event": "DEVICE_DELETED", "data": {"path": "${path}/lapic"}, "timestamp": {"seconds": 1, "microseconds": 0}}`);
        const cpu = [...present].find(([, s]) => s === socket)?.[0];
        if (cpu !== undefined) {
          present.delete(cpu);
          online.delete(cpu);
        }
      }, 30);
      return undefined;
    }
    if (cmd.execute === 'device_add') {
      const socket = Number(cmd.arguments?.['socket-id']);
      filled.set(socket, `/machine/peripheral/${String(cmd.arguments?.id)}`);
      ok();
      setTimeout(() => present.set(nextCpu++, socket), 30);
      return undefined;
    }
    return send(`{"error": {"class": "CommandNotFound", "desc": "The command ${cmd.execute} has not been found"}, "id": ${cmd.id}}`);
  });
  const list = (cpus: Iterable<number>): string => formatCpuList([...cpus]);
  const run = async (script: string): Promise<RunResult> => {
    if (script === 'cat /sys/devices/system/cpu/present') return { exitCode: 0, stdout: `${list(present.keys())}\n`, stderr: '' };
    const packages = [...present].map(([cpu, socket]) => `cpu${cpu} ${online.has(cpu) ? socket : '-'}`);
    return { exitCode: 0, stdout: [`possible 0-3`, `present ${list(present.keys())}`, ...packages].join('\n'), stderr: '' };
  };
  const qmp = await QmpClient.connect(q.socketPath, { timeoutMs: 2000 });
  return {
    qmp,
    run,
    commands,
    close: async () => {
      qmp.close();
      await q.close();
    },
  };
}

const FAST = { commandMs: 1000, eventMs: 1000, presentMs: 1000 };

t.test('capability: plug fills a never-used socket and reads the new CPU number; unplug waits for it to leave present', async (t) => {
  const g = await fakeGuest();
  t.teardown(g.close);
  const hp = await QemuCpuHotplug.create(g.qmp, g.run, FAST);
  t.same(hp.unpluggable(), [1]);
  t.equal(hp.cannotPlug(), null);
  t.equal(await hp.plug(), 2, 'the CPU that appeared in present');
  t.same(g.commands.at(-1)?.arguments, { driver: 'max-x86_64-cpu', 'socket-id': 2, 'core-id': 0, 'thread-id': 0, id: 'cpu2' }, 'the lowest free socket, with the machine\'s CPU type');
  t.same(hp.unpluggable(), [1, 2], 'a plugged CPU can be unplugged');
  await hp.unplug(2);
  t.same(g.commands.at(-1), { execute: 'device_del', arguments: { id: '/machine/peripheral/cpu2' }, id: g.commands.at(-1)?.id });
  t.same((await g.run('cat /sys/devices/system/cpu/present')).stdout, '0-1\n');
  t.same(hp.unpluggable(), [1]);
  await t.rejects(hp.unplug(0), /CPU 0 cannot be unplugged: it is not backed by a QEMU -device \(unpluggable: 1\)/);
});

t.test('capability: no device_add once a CPU was unplugged (it crashed QEMU 7.2)', async (t) => {
  const g = await fakeGuest();
  t.teardown(g.close);
  const hp = await QemuCpuHotplug.create(g.qmp, g.run, FAST);
  await hp.unplug(1);
  t.match(hp.cannotPlug(), /CPU 1 was unplugged in this boot, and QEMU 7\.2 crashed on every device_add after a device_del/);
  await t.rejects(hp.plug(), /cannot plug a CPU: .*\n  fix: plug CPUs before any unplug/);
  t.notOk(g.commands.some((c) => c.execute === 'device_add'), 'QEMU never saw the device_add');
});

t.test('capability: a CPU that never leaves present times out saying so', async (t) => {
  const g = await fakeGuest();
  t.teardown(g.close);
  const hp = await QemuCpuHotplug.create(g.qmp, async (s) => (s.includes('present') && !s.includes('possible') ? { exitCode: 0, stdout: '0-1\n', stderr: '' } : g.run(s)), {
    ...FAST,
    presentMs: 100,
  });
  await t.rejects(hp.unplug(1), /waited 0\.1 s for CPU 1 to leave the present mask after QEMU deleted it: present is still 0-1/);
});
