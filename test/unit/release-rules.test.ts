import t from 'tap';
import { kernelVersion, rulesFor, type CpuFirmware } from '../../src/model/release-rules.js';
import { chooseCpuLayout } from '../../src/backend/qemu/cpu-layout.js';
import { qemuCpuFirmware } from '../../src/backend/qemu/firmware.js';
import { choosePresentation } from '../../src/backend/qemu/presentation.js';
import { availableAbis, kernelPackages, matchAbi, parseAptShow, parseDebianKernelName, relativeHeadersMakefile } from '../../src/kernel/debian-archive.js';
import { fixture } from '../fixtures.js';

const DEBIAN_61_BANNER = '6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)';

t.test('kernel version: Debian 6.1 from its banner, everyone else from the release', async (t) => {
  t.same(kernelVersion('6.1.0-57-amd64', DEBIAN_61_BANNER), { major: 6, minor: 1, sublevel: 192 }, '6.1.0-57 is ABI 57 of 6.1.192');
  t.same(kernelVersion('6.12.118+deb12-amd64'), { major: 6, minor: 12, sublevel: 118 });
  t.same(kernelVersion('6.1.192-pcpu'), { major: 6, minor: 1, sublevel: 192 });
  t.same(kernelVersion('6.18-rc1'), { major: 6, minor: 18, sublevel: 0 });
  t.throws(() => kernelVersion('linux'), /does not start with a version/);
});

/** QEMU pc under TCG, the hotplug layout for S online and P possible, as the harness boots it. */
const pc = (smp: number, possible: number, accel: 'tcg' | 'kvm' = 'tcg', nrCpus = 8192, kvmGuest = true): CpuFirmware =>
  qemuCpuFirmware('pc', chooseCpuLayout('pc', smp, possible), accel, { nrCpus, kvmGuest, vmwareByDmi: true });

t.test('firmware: QEMU pc lists every socket, the empty ones disabled; microvm only what it boots, possible_cpus= beside', async (t) => {
  t.same(pc(3, 5), { onlineCapable: false, fadt: { major: 1, minor: 0 }, hypervisor: 'none', nrCpus: 8192, enabled: 3, disabled: 2, possibleCpusParam: null });
  t.equal(pc(2, 4, 'kvm').hypervisor, 'kvm');
  t.equal(pc(2, 4, 'kvm', 64, false).hypervisor, 'none', 'a kernel without CONFIG_KVM_GUEST (the variants) sees no KVM under KVM either');
  const micro = qemuCpuFirmware('microvm', chooseCpuLayout('microvm', 2, 4), 'tcg', { nrCpus: 64, kvmGuest: false, vmwareByDmi: true });
  t.same([micro.enabled, micro.disabled, micro.possibleCpusParam, micro.fadt.major], [2, 0, 4, 5]);
});

t.test('6.1: every disabled MADT entry is possible; possible_cpus= sets the count; NR_CPUS caps it', async (t) => {
  const r = rulesFor(kernelVersion('6.1.0-57-amd64', DEBIAN_61_BANNER));
  t.equal(r.rules.series, '6.1');
  t.ok(r.exact);
  t.same([2, 4, 64].map((p) => r.rules.possibleCpus(pc(2, p)).possible), [2, 4, 64]);
  t.same(r.rules.possibleCpus(pc(3, 5)), { possible: 5, hotAddable: 2, why: r.rules.possibleCpus(pc(3, 5)).why }, '3:5: two sockets to add');
  const micro = qemuCpuFirmware('microvm', chooseCpuLayout('microvm', 2, 5), 'tcg', { nrCpus: 64, kvmGuest: false, vmwareByDmi: true });
  t.same(r.rules.possibleCpus(micro), { possible: 5, hotAddable: 0, why: r.rules.possibleCpus(micro).why }, 'possible_cpus=5 raises the count; nothing to plug');
  t.equal(r.rules.possibleCpus(pc(4, 64, 'tcg', 8)).possible, 8, 'NR_CPUS=8 caps 64');
  const onlineCapableFadt = { ...pc(2, 4), fadt: { major: 6, minor: 3 } };
  t.equal(r.rules.possibleCpus(onlineCapableFadt).possible, 2, 'a 6.3 FADT without Online Capable entries: none counts (6.1.192 has the backport)');
  t.equal(r.rules.possibleCpus({ ...onlineCapableFadt, onlineCapable: true }).possible, 4);
});

t.test('6.12: under TCG no disabled entry of QEMU 7.2 is possible; under KVM all are; possible_cpus= only lowers', async (t) => {
  const r = rulesFor(kernelVersion('6.12.118+deb12-amd64'));
  t.equal(r.rules.series, '6.12');
  t.ok(r.exact);
  t.same(r.rules.possibleCpus(pc(3, 4)).possible, 3, 'the 3:4 a user met: possible 3, not 4');
  t.equal(r.rules.possibleCpus(pc(3, 4)).hotAddable, 0);
  t.match(r.rules.possibleCpus(pc(3, 4)).why, /FADT before 6\.3 and no hypervisor/);
  t.same(r.rules.possibleCpus(pc(3, 5, 'kvm')), { possible: 5, hotAddable: 2, why: r.rules.possibleCpus(pc(3, 5, 'kvm')).why }, 'a detected hypervisor makes them count');
  t.equal(r.rules.possibleCpus(pc(3, 5, 'kvm', 64, false)).possible, 3, 'pcpu-6.12 under KVM: no CONFIG_KVM_GUEST, no hypervisor, none counts');
  const vmware = qemuCpuFirmware('pc', chooseCpuLayout('pc', 3, 4), 'tcg', { nrCpus: 64, kvmGuest: false, vmwareByDmi: true }, 'vmware');
  t.equal(vmware.hypervisor, 'vmware');
  t.same([r.rules.possibleCpus(vmware).possible, r.rules.possibleCpus(vmware).hotAddable], [4, 1], '--present-as vmware under TCG: the kernel knows it is a guest, the empty socket counts (test/fixtures/console-6.12-pc-tcg-vmware-smp3-sockets4.log)');
  t.equal(qemuCpuFirmware('pc', chooseCpuLayout('pc', 3, 4), 'tcg', { nrCpus: 64, kvmGuest: false, vmwareByDmi: false }, 'vmware').hypervisor, 'none', 'a kernel without CONFIG_HYPERVISOR_GUEST or CONFIG_DMI does not know VMware without its CPUID leaf');
  t.equal(qemuCpuFirmware('pc', chooseCpuLayout('pc', 3, 4), 'kvm', { nrCpus: 64, kvmGuest: true, vmwareByDmi: false }, 'vmware').hypervisor, 'none', 'nor KVM: presented as VMware the CPUID hypervisor bit is gone, and KVM is looked for behind it');
  t.equal(rulesFor(kernelVersion('6.1.0-57-amd64', DEBIAN_61_BANNER)).rules.possibleCpus(vmware).possible, 4, '6.1 counts them either way');
  const micro = (smp: number, p: number): CpuFirmware => qemuCpuFirmware('microvm', chooseCpuLayout('microvm', smp, p), 'tcg', { nrCpus: 8192, kvmGuest: true, vmwareByDmi: true });
  t.equal(r.rules.possibleCpus(micro(2, 4)).possible, 2, 'possible_cpus=4 cannot raise 2');
  t.equal(r.rules.possibleCpus({ ...micro(3, 3), possibleCpusParam: 2 }).possible, 2, 'possible_cpus=2 lowers 3');
  t.equal(r.rules.possibleCpus({ ...pc(2, 4), fadt: { major: 6, minor: 5 }, onlineCapable: true }).possible, 4, 'Online Capable entries count on a 6.5 FADT');
  t.equal(r.rules.possibleCpus({ ...pc(2, 4, 'kvm'), fadt: { major: 6, minor: 5 } }).possible, 2, 'but on a 6.5 FADT the hypervisor does not matter');
});

t.test('which rules: the releases read are exact; any other says which it took and what may not hold', async (t) => {
  t.ok(rulesFor(kernelVersion('6.12.107+deb12-amd64')).exact, '6.12.107 has the same acpi_is_processor_usable()');
  t.ok(rulesFor(kernelVersion('6.12.77')).exact, 'the fix came in 6.12.77');
  const early = rulesFor(kernelVersion('6.12.76'));
  t.notOk(early.exact);
  t.match(early.why, /6\.12\.77 changed acpi_is_processor_usable\(\).*possible-cpus, cpu-unplug, tracker-leak/);
  t.ok(rulesFor(kernelVersion('6.1.0-57-amd64', DEBIAN_61_BANNER)).exact);
});

t.test('which rules: 6.6 takes 6.1\'s, 6.18 takes 6.12\'s, and both say so', async (t) => {
  const six = rulesFor(kernelVersion('6.6.60'));
  t.same([six.rules.series, six.exact], ['6.1', false]);
  t.match(six.why, /no rules were read for 6\.6; those of 6\.1 applied .*possible-cpus, cpu-unplug/);
  const late = rulesFor(kernelVersion('6.18.1'));
  t.same([late.rules.series, late.exact], ['6.12', false]);
});

t.test('Debian kernel names', async (t) => {
  t.same(parseDebianKernelName('debian-6.12'), { name: 'debian-6.12', series: '6.12', abi: null, flavour: 'amd64' });
  t.same(parseDebianKernelName('debian-6.12-rt').flavour, 'rt-amd64');
  t.same(parseDebianKernelName('debian-6.12.107').abi, '6.12.107');
  const abis = availableAbis(fixture('debian/apt-pkgnames-linux-image.txt'), '6.12', 'amd64');
  t.equal(matchAbi(abis, '6.12.107'), '6.12.107+deb12', 'the Debian suffix comes from apt, not from the name');
  t.equal(matchAbi(abis, '6.12.10'), undefined, '6.12.10 is not 6.12.107');
  t.same(parseDebianKernelName('debian-6.1.0-57-rt'), { name: 'debian-6.1.0-57-rt', series: '6.1', abi: '6.1.0-57', flavour: 'rt-amd64' });
  t.throws(() => parseDebianKernelName('debian-latest'), /not a Debian kernel name/);
});

t.test('Debian archive: the newest ABI of a series from apt\'s lists, and its four packages from the headers\' Depends', async (t) => {
  const names = fixture('debian/apt-pkgnames-linux-image.txt');
  t.equal(availableAbis(names, '6.12', 'amd64')[0], '6.12.118+deb12');
  t.equal(availableAbis(names, '6.1', 'rt-amd64')[0], '6.1.0-57');
  t.notOk(availableAbis(names, '6.1', 'amd64').some((a) => a.startsWith('6.12')), '6.1 does not match 6.12');
  const rt = kernelPackages('6.12.118+deb12', 'rt-amd64', parseAptShow(fixture('debian/apt-show-linux-headers-6.12.118+deb12-rt-amd64.txt')));
  t.same(rt.pins, [
    'linux-image-6.12.118+deb12-rt-amd64-unsigned=6.12.118-1~deb12u1',
    'linux-headers-6.12.118+deb12-rt-amd64=6.12.118-1~deb12u1',
    'linux-headers-6.12.118+deb12-common-rt=6.12.118-1~deb12u1',
    'linux-kbuild-6.12.118+deb12=6.12.118-1~deb12u1',
  ]);
  t.equal(rt.release, '6.12.118+deb12-rt-amd64');
  const old = kernelPackages('6.1.0-57', 'amd64', parseAptShow(fixture('debian/apt-show-linux-headers-6.1.0-57-amd64.txt')));
  t.same(old.pins.slice(2), ['linux-headers-6.1.0-57-common=6.1.192-3', 'linux-kbuild-6.1=6.1.192-3'], 'kbuild at the headers\' version, not ">="');
  t.equal(
    relativeHeadersMakefile(fixture('debian/Makefile-linux-headers-6.12.118+deb12-amd64')),
    'include ../linux-headers-6.12.118+deb12-common/Makefile\n',
  );
  t.throws(() => relativeHeadersMakefile('obj-m := x.o\n'), /does not include/);
});

t.test('the rules against real boot logs: QEMU 7.2 pc, 3 CPUs in 4 sockets, TCG, loglevel=8 (test/fixtures/console-6.1*-pc-tcg-smp3-sockets4.log)', async (t) => {
  const facts = (log: string): { fadt: string | undefined; madt: string | undefined; hypervisor: boolean; possible: number } => ({
    fadt: /ACPI: FACP \S+ \S+ \(v(\d+) /.exec(log)?.[1],
    madt: /ACPI: APIC \S+ \S+ \(v(\d+) /.exec(log)?.[1],
    hypervisor: /Hypervisor detected/.test(log),
    possible: Number(/nr_cpu_ids:(\d+)/.exec(log)?.[1]),
  });
  const fw = pc(3, 4);
  for (const [file, release, banner] of [
    ['console-6.1-pc-tcg-smp3-sockets4.log', '6.1.0-57-amd64', DEBIAN_61_BANNER],
    ['console-6.12-pc-tcg-smp3-sockets4.log', '6.12.118+deb12-amd64', ''],
  ] as const) {
    const log = fixture(file);
    const seen = facts(log);
    t.same([seen.fadt, seen.madt, seen.hypervisor], [String(fw.fadt.major).padStart(2, '0'), '01', false], `${file}: the firmware the model assumes (FADT v01, MADT v01, no hypervisor under TCG)`);
    t.equal(rulesFor(kernelVersion(release, banner)).rules.possibleCpus(fw).possible, seen.possible, `${file}: the rule predicts the kernel's nr_cpu_ids`);
  }
  t.match(fixture('console-6.12-pc-tcg-smp3-sockets4.log'), /CPU topo: Allowing 3 present CPUs plus 0 hotplug CPUs/);
  const vmw = fixture('console-6.12-pc-tcg-vmware-smp3-sockets4.log');
  t.match(vmw, /Hypervisor detected: VMware/, 'QEMU as VMware (vmport, DMI serial, no CPUID hypervisor bit): 6.12 knows it is a guest');
  t.equal(Number(/nr_cpu_ids:(\d+)/.exec(vmw)?.[1]), rulesFor(kernelVersion('6.12.118+deb12-amd64')).rules.possibleCpus(qemuCpuFirmware('pc', chooseCpuLayout('pc', 3, 4), 'tcg', { nrCpus: 8192, kvmGuest: true, vmwareByDmi: true }, 'vmware')).possible);
  t.match(fixture('console-6.1-pc-tcg-smp3-sockets4.log'), /smpboot: Allowing 4 CPUs, 1 hotplug CPUs/);
});

t.test('--present-as auto: VMware only where the kernel then makes more CPUs possible', async (t) => {
  const cfg = { nrCpus: 64, kvmGuest: false, vmwareByDmi: true };
  const r612 = rulesFor(kernelVersion('6.12.118+deb12-amd64')).rules;
  const r61 = rulesFor(kernelVersion('6.1.0-57-amd64', DEBIAN_61_BANNER)).rules;
  const choose = (rules: typeof r612, smp: number, p: number, machine: 'pc' | 'microvm' = 'pc', kernel = cfg) =>
    choosePresentation('auto', machine, chooseCpuLayout(machine, smp, p), 'tcg', kernel, rules).presentAs;
  t.equal(choose(r612, 2, 4), 'vmware', '6.12 under TCG: QEMU as VMware, so the empty sockets count');
  t.equal(choose(r61, 2, 4), 'qemu', '6.1 counts them as QEMU is: nothing changes');
  t.equal(choose(r612, 2, 2), 'qemu', 'no empty socket: nothing to gain');
  t.equal(choose(r612, 2, 4, 'microvm'), 'qemu', 'microvm: no sockets, no vmport');
  t.equal(choose(r612, 2, 4, 'pc', { ...cfg, vmwareByDmi: false }), 'qemu', 'a kernel without vmware.c would not see it');
  t.equal(choosePresentation('qemu', 'pc', chooseCpuLayout('pc', 2, 4), 'tcg', cfg, r612).presentAs, 'qemu', 'asked for: as asked');
  t.match(choosePresentation('auto', 'pc', chooseCpuLayout('pc', 2, 4), 'tcg', cfg, r612).why, /as VMware: 6\.12 counts the empty sockets only on a hypervisor it recognises.*--present-as qemu/);
});

t.test('QEMU presented as VMware: the backdoor port, the DMI serial, no CPUID hypervisor bit', async (t) => {
  const { qemuArgs } = await import('../../src/backend/qemu/qemu-args.js');
  const base = { qemu: 'q', kernel: 'k', initrd: 'i', accel: 'tcg' as const, machine: 'pc' as const, cpus: 2, possibleCpus: 4, memoryMb: 256, channelSocket: 's', cmdline: [], agentIdleSec: 60 };
  const vm = qemuArgs({ ...base, presentAs: 'vmware' }).join(' ');
  t.match(vm, /-M pc,vmport=on -accel tcg,thread=multi -cpu max,-hypervisor -smbios type=1,serial=VMware-refprobe /);
  t.notMatch(qemuArgs(base).join(' '), /vmport|smbios|-hypervisor/, 'as QEMU is by default');
  const { kernelCmdline } = await import('../../src/backend/qemu/qemu-args.js');
  t.match(kernelCmdline({ ...base, presentAs: 'vmware' }), / tsc=unstable( |$)/, 'presented as VMware: no sched_clock static key flipped at late init');
  t.notMatch(kernelCmdline(base), /tsc=/);
});
