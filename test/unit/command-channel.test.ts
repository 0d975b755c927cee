import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseKconfig } from '../../src/kernel/config.js';
import { loadOrder, parseModulesDep, planChannel } from '../../src/backend/qemu/command-channel.js';
import { kernelCmdline, qemuArgs, type GuestConfig } from '../../src/backend/qemu/qemu-args.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
const debianDeps = parseModulesDep(readFileSync(path.join(fixtures, 'modules.dep-6.1.0-57-amd64-virtio.txt'), 'utf8'));
const config = (text: string) => parseKconfig(text);

t.test('the stock Debian kernel: virtio-serial from its modules, each after what it needs', async (t) => {
  const plan = planChannel(config('CONFIG_VIRTIO=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_CONSOLE=m\n'), debianDeps, 'pc');
  t.equal(plan.kind, 'virtio');
  if (plan.kind !== 'virtio') return;
  const names = plan.modules.map((m) => path.basename(m, '.ko'));
  t.same([...names].sort(), ['virtio', 'virtio_console', 'virtio_pci', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_ring']);
  for (const [m, deps] of debianDeps) {
    const at = plan.modules.indexOf(m);
    if (at < 0) continue;
    for (const d of deps) t.ok(plan.modules.indexOf(d) >= 0 && plan.modules.indexOf(d) < at, `${path.basename(d)} before ${path.basename(m)}`);
  }
  t.notOk(names.includes('virtio_net'), 'nothing the channel does not need');
});

t.test('built in: nothing to load; absent, or on microvm, or not installed: the serial port, and why', async (t) => {
  t.same(planChannel(config('CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_CONSOLE=y\n'), null, 'pc'), { kind: 'virtio', modules: [], why: 'virtio-serial built into the kernel' });
  const none = planChannel(config('CONFIG_VIRTIO_PCI=y\n# CONFIG_VIRTIO_CONSOLE is not set\n'), debianDeps, 'pc');
  t.equal(none.kind, 'serial');
  t.match(none.why, /CONFIG_VIRTIO_CONSOLE=n/);
  t.equal(planChannel(config('CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_CONSOLE=y\n'), null, 'microvm').kind, 'serial', 'microvm: virtio-mmio, not found by every kernel');
  const notInstalled = planChannel(config('CONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_CONSOLE=m\n'), null, 'pc');
  t.equal(notInstalled.kind, 'serial');
  t.match(notInstalled.why, /virtio_pci and virtio_console are modules not installed/);
  t.equal(planChannel(null, debianDeps, 'pc').kind, 'serial', 'no config: no guess');
  const partial = planChannel(config('CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_CONSOLE=m\n'), new Map([['kernel/drivers/virtio/virtio.ko', []]]), 'pc');
  t.equal(partial.kind, 'serial', 'a module the dep file does not list is not there');
  const zstd = new Map([...debianDeps].map(([k, v]) => [k.replace(/\.ko$/, '.ko.zst'), v.map((d) => d.replace(/\.ko$/, '.ko.zst'))]));
  t.equal(planChannel(config('CONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO_CONSOLE=m\n'), zstd, 'pc').kind, 'serial', 'zstd modules: busybox insmod cannot load them, so the serial port');
});

t.test('load order: dependencies first, each once; a cycle is an error', async (t) => {
  const deps = new Map([['a.ko', ['b.ko', 'c.ko']], ['b.ko', ['c.ko']], ['c.ko', []]]);
  t.same(loadOrder('a.ko', deps), ['c.ko', 'b.ko', 'a.ko']);
  t.throws(() => loadOrder('x.ko', new Map([['x.ko', ['y.ko']], ['y.ko', ['x.ko']]])), /cycle/);
});

t.test('QEMU command line: a virtio-serial port named refprobe, and ttyS1 only when asked for beside it', async (t) => {
  const cfg: GuestConfig = {
    qemu: 'qemu-system-x86_64', kernel: '/k', initrd: '/i', accel: 'tcg', machine: 'pc', cpus: 2, memoryMb: 256,
    channelSocket: '/tmp/x/channel.sock', channel: 'virtio', cmdline: [], agentIdleSec: 120,
  };
  const argv = qemuArgs(cfg).join(' ');
  t.match(argv, /-chardev socket,id=channel,path=\/tmp\/x\/channel\.sock -device virtio-serial-pci,id=vser0 -device virtserialport,bus=vser0\.0,chardev=channel,name=refprobe/);
  t.notMatch(argv, /isa-serial/, 'no second serial port');
  t.match(kernelCmdline(cfg), / refprobe\.chan=virtio/);
  t.notMatch(kernelCmdline(cfg), /refprobe\.serial/);
  const both = { ...cfg, serialSocket: '/tmp/x/serial.sock' };
  t.match(qemuArgs(both).join(' '), /-chardev socket,id=serialch,path=\/tmp\/x\/serial\.sock -device isa-serial,chardev=serialch,index=1/);
  t.match(kernelCmdline(both), / refprobe\.chan=virtio refprobe\.serial=1/);
  t.notMatch(kernelCmdline({ ...cfg, channel: 'serial' }), /refprobe\.chan/, 'the serial port: the init default');
});
