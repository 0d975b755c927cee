import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { archOfConfig, guestCc, isArm64Image, kbuildArgs } from '../../src/kernel/arch.js';
import { readArm64ImageVersion } from '../../src/kernel/bzimage.js';
import { variantFragments } from '../../src/kernel/build-variant.js';
import { isVariant, VARIANT_NAMES, variantOf } from '../../src/kernel/variants.js';
import { foreignAptOptions } from '../../src/initramfs/busybox.js';
import { chooseCpuLayout } from '../../src/backend/qemu/cpu-layout.js';
import { planChannel } from '../../src/backend/qemu/command-channel.js';
import { describeFirmware, qemuCpuFirmware } from '../../src/backend/qemu/firmware.js';
import { qemuArgs, type GuestConfig } from '../../src/backend/qemu/qemu-args.js';
import { platformFor } from '../../src/backend/qemu/guest.js';
import { choosePresentation } from '../../src/backend/qemu/presentation.js';
import { parseKconfig } from '../../src/kernel/config.js';
import { rulesFor } from '../../src/model/release-rules.js';
import { repoRoot } from '../fixtures.js';

const fixture = (name: string): Promise<Buffer> => readFile(path.join(repoRoot, 'test/fixtures', name));

t.test('the arm64 variants are named by their architecture, built from 6.1, with their own base', async (t) => {
  t.ok(isVariant('pcpu-arm64') && isVariant('refcount-arm64'));
  t.notOk(isVariant('tracker-arm64'), 'no tracker on arm64');
  t.same(variantOf('pcpu-arm64'), { kind: 'pcpu', release: '6.1', arch: 'arm64' });
  t.same(variantOf('pcpu-6.12'), { kind: 'pcpu', release: '6.12', arch: 'x86_64' });
  t.same(variantOf('pcpu'), { kind: 'pcpu', release: '6.1', arch: 'x86_64' });
  t.same(VARIANT_NAMES.slice(-2), ['pcpu-arm64', 'refcount-arm64']);
  const [base, kind] = await variantFragments('pcpu-arm64', repoRoot);
  t.match(base, /CONFIG_SERIAL_AMBA_PL011_CONSOLE=y/);
  t.match(base, /CONFIG_PCI_HOST_GENERIC=y/);
  t.notMatch(base, /CONFIG_PVH|CONFIG_SERIAL_8250|CONFIG_ACPI/, 'nothing x86 in the arm64 base');
  t.match(kind, /CONFIG_PCPU_DEV_REFCNT=y/);
  const [x86] = await variantFragments('pcpu', repoRoot);
  t.match(x86, /CONFIG_PVH=y/, 'the x86 variants keep base.config');
});

t.test('cross builds: ARCH= and CROSS_COMPILE= only where the target is not the host', async (t) => {
  t.same(kbuildArgs('arm64', 'x86_64'), ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-']);
  t.same(kbuildArgs('x86_64', 'x86_64'), []);
  t.same(kbuildArgs('arm64', 'arm64'), [], 'an arm64 host builds natively');
  t.equal(guestCc('arm64', 'x86_64'), 'aarch64-linux-gnu-gcc');
  t.equal(guestCc('x86_64', 'x86_64'), 'gcc');
  t.equal(archOfConfig('CONFIG_ARM64=y\nCONFIG_64BIT=y\n'), 'arm64');
  t.equal(archOfConfig('CONFIG_X86_64=y\n'), 'x86_64');
  t.equal(archOfConfig('# CONFIG_ARM64 is not set\n'), null);
});

t.test("an arm64 Image: its header's magic, and the release from its banner (a real Image's bytes)", async (t) => {
  t.ok(isArm64Image(await fixture('arm64-image-head.bin')));
  t.notOk(isArm64Image(await fixture('bzimage-6.1.0-57-amd64.head')));
  const v = readArm64ImageVersion(await fixture('arm64-image-banner.bin'));
  t.equal(v.release, '6.1.192-pcpu');
  t.match(v.banner, /^6\.1\.192-pcpu \(root@vm\) \(aarch64-linux-gnu-gcc/);
  t.throws(() => readArm64ImageVersion(Buffer.from('no banner here')), /no "Linux version" banner/);
});

t.test("busybox for arm64 comes through an apt state of its own: the host's lists and status are never named", async (t) => {
  const o = foreignAptOptions('arm64', '/c/apt-arm64');
  t.same(o.filter((_, i) => i % 2 === 1), [
    'APT::Architecture=arm64',
    'APT::Architectures=arm64',
    'Dir::State::Lists=/c/apt-arm64/lists',
    'Dir::State::status=/c/apt-arm64/status',
    'Dir::Cache=/c/apt-arm64/cache',
  ]);
});

t.test('virt: the device tree lists the CPUs it boots; possible = present, nothing to plug', async (t) => {
  const layout = chooseCpuLayout('virt', 3, 5);
  t.same({ kind: layout.kind, possible: layout.kind === 'smp' ? layout.possibleCpus : -1 }, { kind: 'smp', possible: null }, 'no possible_cpus= on arm64');
  const fw = qemuCpuFirmware('virt', layout, 'tcg', { nrCpus: 64, kvmGuest: false, vmwareByDmi: false });
  t.equal(fw.tables, 'devicetree');
  for (const series of ['6.1.192', '6.12.118']) {
    const [maj, min, sub] = series.split('.').map(Number) as [number, number, number];
    const rule = rulesFor({ major: maj, minor: min, sublevel: sub }).rules.possibleCpus(fw);
    t.same({ possible: rule.possible, hotAddable: rule.hotAddable }, { possible: 3, hotAddable: 0 }, series);
    t.match(rule.why, /device tree lists 3 cpu node/);
  }
  t.match(describeFirmware('virt', fw), /device tree with 3 cpu node/);
  t.equal(rulesFor({ major: 6, minor: 1, sublevel: 192 }).rules.possibleCpus({ ...fw, nrCpus: 2 }).possible, 2, 'capped at NR_CPUS');
});

t.test('virt: presented as QEMU is; VMware (an x86 presentation) is refused', async (t) => {
  const layout = chooseCpuLayout('virt', 2, null);
  const cfg = { nrCpus: 64, kvmGuest: false, vmwareByDmi: false };
  const rules = rulesFor({ major: 6, minor: 1, sublevel: 192 }).rules;
  t.equal(choosePresentation('auto', 'virt', layout, 'tcg', cfg, rules).presentAs, 'qemu');
  t.throws(() => choosePresentation('vmware', 'virt', layout, 'tcg', cfg, rules), /--present-as vmware with an arm64 kernel/);
});

t.test('virt: the channel is virtio-serial built in, or the run is refused before boot', async (t) => {
  const full = parseKconfig('CONFIG_VIRTIO_CONSOLE=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_PCI_HOST_GENERIC=y\n');
  t.equal(planChannel(full, null, 'virt').kind, 'virtio');
  t.throws(() => planChannel(parseKconfig('CONFIG_VIRTIO_CONSOLE=y\nCONFIG_VIRTIO_PCI=y\n'), null, 'virt'), /CONFIG_PCI_HOST_GENERIC is not built in/);
  t.throws(() => planChannel(null, null, 'virt'), /its \.config is not known/);
});

t.test('the arm64 QEMU command line: virt, TCG, the PL011 console, the channel on virtio-serial', async (t) => {
  const p = platformFor('arm64', { qemu: 'qemu-system-x86_64', machine: 'pc', singlestep: 'auto' });
  t.same(p, { arch: 'arm64', qemu: 'qemu-system-aarch64', machine: 'virt', singlestep: true }, '--qemu and --machine are the x86 guest\'s');
  t.same(platformFor('x86_64', { qemu: '/opt/q', machine: 'microvm', singlestep: 'auto' }), { arch: 'x86_64', qemu: '/opt/q', machine: 'microvm', singlestep: false });
  const cfg: GuestConfig = { qemu: p.qemu, arch: 'arm64', kernel: 'Image', initrd: 'i', accel: 'tcg', machine: 'virt', cpus: 3, possibleCpus: null, memoryMb: 256, channelSocket: '/s', channel: 'virtio', cmdline: [], agentIdleSec: 120 };
  const args = qemuArgs(cfg).join(' ');
  t.match(args, /-M virt -accel tcg,thread=multi -cpu max -smp 3 /);
  t.match(args, /console=ttyAMA0 /);
  t.match(args, /-device virtio-serial-pci,id=vser0 -device virtserialport,bus=vser0\.0,chardev=channel,name=refprobe/);
  t.notMatch(args, /isa-serial|vmport|possible_cpus|singlestep/);
  t.match(qemuArgs({ ...cfg, singlestep: true }).join(' '), /-accel tcg,thread=multi -singlestep -cpu max/, 'one instruction per block, the vCPUs still in parallel');
  t.throws(() => qemuArgs({ ...cfg, channel: 'serial' }), /one serial port, the console/);
});
