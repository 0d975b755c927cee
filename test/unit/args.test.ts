import t from 'tap';
import { parseVmTestArgs } from '../../src/cli/vm-test-args.js';
import { SCENARIOS } from '../../src/scenarios/index.js';
import { cpuHasVirtualization, probeBootSector } from '../../src/backend/qemu/accel.js';
import { chooseCpuLayout } from '../../src/backend/qemu/cpu-layout.js';
import { kernelCmdline, qemuArgs, type GuestConfig } from '../../src/backend/qemu/qemu-args.js';

t.test('defaults', async (t) => {
  const a = parseVmTestArgs([], SCENARIOS);
  t.equal(a.guest.accel, 'auto');
  t.equal(a.guest.machine, 'pc');
  t.same(
    a.cells.map((c) => [c.kernel, c.smp, c.possibleCpus]),
    [
      ['stock', 2, 4],
      ['stock', 4, 64],
    ],
    'the stock kernel on 2 CPUs (2 possible but absent) and on 4 (64 possible)',
  );
  t.equal(a.cells[0]?.smp, 2);
  t.equal(a.cells[0]?.possibleCpus, 4, 'two possible CPUs that never come online');
  t.equal(a.scenarios.length, SCENARIOS.length);
  t.equal(a.fault, null);
});

t.test('bad options say what was wrong and what to pass', async (t) => {
  t.throws(() => parseVmTestArgs(['--smp', '0'], SCENARIOS), /--smp 0 is not a whole number from 1 to 64/);
  t.throws(() => parseVmTestArgs(['--smp', 'two'], SCENARIOS), /--smp two/);
  t.throws(() => parseVmTestArgs(['--accel', 'hvf'], SCENARIOS), /pass --accel auto\|kvm\|tcg/);
  t.throws(() => parseVmTestArgs(['--scenario', 'nope'], SCENARIOS), /one of: lifecycle/);
  t.throws(() => parseVmTestArgs(['--frobnicate'], SCENARIOS), /Unknown option '--frobnicate'/);
  t.throws(() => parseVmTestArgs(['--kdir', '/k'], SCENARIOS), /--kdir without --kernel/);
  t.throws(() => parseVmTestArgs(['--fault', 'drop'], SCENARIOS), /--fault hold-twice/);
  t.throws(() => parseVmTestArgs(['--smp', '4', '--possible-cpus', '2'], SCENARIOS), /possible CPUs 2 below online CPUs 4/);
  t.throws(() => parseVmTestArgs(['--possible-cpus', '8'], SCENARIOS), /--possible-cpus without --smp/);
  t.equal(parseVmTestArgs(['--smp', '2', '--possible-cpus', '8'], SCENARIOS).cells[0]?.possibleCpus, 8);
  t.throws(() => parseVmTestArgs(['--topology', '2:x'], SCENARIOS), /topology "2:x" is not S or S:P/);
  t.throws(() => parseVmTestArgs(['--topology', '2', '--smp', '2'], SCENARIOS), /--topology with --smp/);
  t.throws(() => parseVmTestArgs(['--kernel', 'pcpu', '--kernels', 'stock'], SCENARIOS), /more than one of --kernel, --kernels, --kernel-tree/);
  t.throws(() => parseVmTestArgs(['--kernels', 'pcpu,pcpu'], SCENARIOS), /names a kernel twice/);
  t.throws(() => parseVmTestArgs(['--kernel', 'pcpu', '--kdir', '/k'], SCENARIOS), /--kdir without --kernel IMAGE/);
  t.throws(() => parseVmTestArgs(['--seed=-1'], SCENARIOS), /--seed -1 is not a whole number/);
});

t.test('kernels x topologies make the cells of a matrix', async (t) => {
  const a = parseVmTestArgs(['--kernels', 'stock,refcount', '--topology', '1:1,4:64', '--jobs', '1', '--seed', '7'], SCENARIOS);
  t.same(
    a.cells.map((c) => [c.kernel, c.smp, c.possibleCpus]),
    [
      ['stock', 1, 1],
      ['stock', 4, 64],
      ['refcount', 1, 1],
      ['refcount', 4, 64],
    ],
  );
  t.same(a.cells[2]?.spec, { kernel: 'refcount' });
  t.equal(a.jobs, 1);
  t.equal(a.context.seed, 7);
  const one = parseVmTestArgs(['--kernel-tree', '/src/linux', '--smp', '3'], SCENARIOS);
  t.same(one.cells.map((c) => [c.kernel, c.smp, c.possibleCpus]), [['linux', 3, 5]], 'one topology: possible = smp + 2');
  t.equal(one.cells[0]?.spec.kernelTree, '/src/linux');
  t.equal(parseVmTestArgs(['--topology', '2'], SCENARIOS).cells[0]?.possibleCpus, 4);
});

t.test('scenario selection keeps the order given', async (t) => {
  const a = parseVmTestArgs(['--scenario', 'hold-put-cross-cpu', '--scenario', 'lifecycle'], SCENARIOS);
  t.same(a.scenarios.map((s) => s.name), ['hold-put-cross-cpu', 'lifecycle']);
});

t.test('QEMU command line: console on ttyS0, channel on ttyS1, accelerator', async (t) => {
  const cfg: GuestConfig = {
    qemu: 'qemu-system-x86_64', kernel: '/k', initrd: '/i', accel: 'tcg', machine: 'pc', cpus: 4, memoryMb: 256,
    channelSocket: '/tmp/x/channel.sock', cmdline: ['possible_cpus=8'], agentIdleSec: 120,
  };
  const argv = qemuArgs(cfg).join(' ');
  t.match(argv, /-accel tcg,thread=multi -cpu max/);
  t.match(argv, /-smp 4 /);
  t.match(argv, /-chardev stdio,id=console,signal=off -serial chardev:console/);
  t.match(argv, /-chardev socket,id=channel,path=\/tmp\/x\/channel\.sock -device isa-serial,chardev=channel,index=1/);
  t.match(qemuArgs({ ...cfg, accel: 'kvm' }).join(' '), /-accel kvm -cpu host/);
  t.equal(kernelCmdline(cfg), 'console=ttyS0 panic=-1 oops=panic quiet printk.time=1 refprobe.idle=120 possible_cpus=8');
});

t.test('QEMU command line: CPUs in hot-pluggable sockets on pc, -smp and possible_cpus= elsewhere', async (t) => {
  const cfg: GuestConfig = {
    qemu: 'qemu-system-x86_64', kernel: '/k', initrd: '/i', accel: 'tcg', machine: 'pc', cpus: 3, possibleCpus: 5, memoryMb: 256,
    channelSocket: '/tmp/x/channel.sock', qmpSocket: '/tmp/x/qmp.sock', cmdline: [], agentIdleSec: 120,
  };
  const argv = qemuArgs(cfg).join(' ');
  t.match(argv, /-cpu max -smp 1,sockets=5,cores=1,threads=1,maxcpus=5 /, 'only the boot CPU from -smp');
  t.match(
    argv,
    / -device max-x86_64-cpu,socket-id=1,core-id=0,thread-id=0,id=cpu1 -device max-x86_64-cpu,socket-id=2,core-id=0,thread-id=0,id=cpu2 /,
    'the other online CPUs as -device, so they can be unplugged',
  );
  t.notMatch(argv, /socket-id=[034]/, 'sockets 3 and 4 stay empty for hot-add');
  t.match(argv, / -qmp unix:\/tmp\/x\/qmp\.sock,server=on,wait=off$/);
  t.equal(kernelCmdline(cfg), 'console=ttyS0 panic=-1 oops=panic quiet printk.time=1 refprobe.idle=120', 'possible CPUs come from ACPI: no possible_cpus=');
  t.match(qemuArgs({ ...cfg, accel: 'kvm' }).join(' '), /-cpu host -smp 1,.* -device host-x86_64-cpu,socket-id=1,/, 'the device type follows -cpu');
  t.notMatch(qemuArgs({ ...cfg, cpus: 1, possibleCpus: 1 }).join(' '), /-device [a-z]+-x86_64-cpu/, 'one CPU: nothing to add');

  const microvm = { ...cfg, machine: 'microvm' as const };
  t.match(qemuArgs(microvm).join(' '), /-smp 3 /, 'microvm has no ACPI CPU hotplug: the plain layout');
  t.match(kernelCmdline(microvm), / possible_cpus=5$/);
  const bench = { ...cfg, possibleCpus: null, qmpSocket: null };
  t.match(qemuArgs(bench).join(' '), /-smp 3 /, 'no possible count (the benchmark): the plain layout');
  t.notMatch(qemuArgs(bench).join(' '), /-qmp/);
  t.notMatch(kernelCmdline(bench), /possible_cpus/);
});

t.test('CPU layout: the rule and its reason', async (t) => {
  t.match(chooseCpuLayout('pc', 2, 4), { kind: 'hotplug', sockets: 4, deviceSockets: [1] });
  t.match(chooseCpuLayout('pc', 4, 64), { kind: 'hotplug', sockets: 64, deviceSockets: [1, 2, 3] });
  t.match(chooseCpuLayout('microvm', 2, 4), { kind: 'smp', cpus: 2, possibleCpus: 4, reason: /microvm has no ACPI CPU hotplug/ });
  t.match(chooseCpuLayout('pc', 2, null), { kind: 'smp', possibleCpus: null });
});

t.test('accelerator probe: vmx/svm flags and the exit-port boot sector', async (t) => {
  t.equal(cpuHasVirtualization('flags\t\t: fpu vme de pse tsc msr hypervisor\n'), false);
  t.equal(cpuHasVirtualization('flags\t\t: fpu vmx ept\n'), true);
  const mbr = probeBootSector();
  t.equal(mbr.length, 512);
  t.same([...mbr.subarray(0, 5)], [0xb0, 0x31, 0xe6, 0xf4, 0xf4], 'mov al,0x31; out 0xf4,al; hlt');
  t.same([mbr[510], mbr[511]], [0x55, 0xaa]);
});

t.test('--patch: the patches and the base; what cannot go with it is refused', async (t) => {
  const a = parseVmTestArgs(['--patch', 'a.patch', '--patch', 'b.patch', '--base', 'refcount', '--topology', '3:5'], SCENARIOS);
  t.same(a.patches, ['a.patch', 'b.patch'], 'applied in the order given');
  t.equal(a.base, 'refcount');
  t.same(a.topologies, [{ smp: 3, possibleCpus: 5 }]);
  t.equal(parseVmTestArgs(['--patch', 'a.patch'], SCENARIOS).base, 'pcpu', 'the default base: the 2010 mechanism');
  t.throws(() => parseVmTestArgs(['--base', 'pcpu'], SCENARIOS), /--base without --patch/);
  t.throws(() => parseVmTestArgs(['--patch', 'a', '--base', 'stock'], SCENARIOS), /--base stock is not known.*pcpu\|refcount\|tracker/s);
  t.throws(() => parseVmTestArgs(['--patch', 'a', '--kernel', 'pcpu'], SCENARIOS), /--patch with --kernel.*--base VARIANT \(pcpu, refcount, tracker from linux-source-6\.1; pcpu-6\.12/s);
  const mine = parseVmTestArgs(['--patch', 'a', '--kernel-tree', '/src/linux'], SCENARIOS);
  t.equal(mine.baseTree, '/src/linux', '--kernel-tree is the base of the patch');
  t.equal(mine.cells[0]?.spec.kernelTree, undefined, '... not a kernel of its own');
  t.equal(parseVmTestArgs(['--patch', 'a'], SCENARIOS).baseTree, null);
  t.throws(() => parseVmTestArgs(['--patch', 'a', '--kernel-tree', '/src', '--base', 'pcpu'], SCENARIOS), /--base with --kernel-tree/);
  t.throws(() => parseVmTestArgs(['--patch', 'a', '--kernel-tree', '/src', '--bisect'], SCENARIOS), /--patch with --bisect/);
  t.throws(() => parseVmTestArgs(['--patch', 'a', '--baseline', 'out/runs/x'], SCENARIOS), /--patch with --baseline.*drop --baseline/s);
  t.throws(() => parseVmTestArgs(['--patch', 'a', '--fault', 'hold-twice'], SCENARIOS), /--patch with --fault/);
});

t.test('--shard: a share of the matrix, with the seed every shard must share', async (t) => {
  const a = parseVmTestArgs(['--topology', '1:1,2:3,3:4', '--shard', '2/2', '--seed', '7'], SCENARIOS);
  t.same(a.cells.map((c) => c.smp), [2], 'every second run from the second');
  t.same(a.plannedCells.map((c) => c.smp), [1, 2, 3], 'the whole matrix, for the merge');
  t.same(a.shard, { k: 2, n: 2 });
  t.throws(() => parseVmTestArgs(['--shard', '1/2'], SCENARIOS), /--shard without --seed/);
  t.throws(() => parseVmTestArgs(['--shard', '1/2', '--seed', '1', '--patch', 'x'], SCENARIOS), /--shard with --patch/);
});

t.test('--bisect: a tree, one topology (2:4 unless told), nothing that judges otherwise', async (t) => {
  const a = parseVmTestArgs(['--kernel-tree', '/src/linux', '--bisect'], SCENARIOS);
  t.equal(a.bisect, true);
  t.same(a.topologies, [{ smp: 2, possibleCpus: 4 }], 'one topology: the first default');
  t.equal(a.cells.length, 1, 'one run: one verdict');
  t.same(parseVmTestArgs(['--kernel-tree', '/s', '--bisect', '--topology', '3:5'], SCENARIOS).topologies, [{ smp: 3, possibleCpus: 5 }]);
  t.throws(() => parseVmTestArgs(['--bisect'], SCENARIOS), /--bisect without --kernel-tree.*git bisect run/s);
  t.throws(() => parseVmTestArgs(['--kernel', 'pcpu', '--bisect'], SCENARIOS), /--bisect with --kernel/);
  t.throws(() => parseVmTestArgs(['--kernel-tree', '/s', '--bisect', '--topology', '2:4,4:64'], SCENARIOS), /--bisect with more than one topology/);
  t.throws(() => parseVmTestArgs(['--kernel-tree', '/s', '--bisect', '--baseline', 'x'], SCENARIOS), /--bisect with --baseline/);
  t.equal(parseVmTestArgs(['--kernel-tree', '/s'], SCENARIOS).bisect, false);
});

t.test("--kernel and --kernels take Debian's kernels by name, and the 6.12 variants", async (t) => {
  const a = parseVmTestArgs(['--kernels', 'stock,debian-6.12,debian-6.12-rt,pcpu-6.12'], SCENARIOS);
  t.same([...new Set(a.cells.map((c) => c.kernel))], ['stock', 'debian-6.12', 'debian-6.12-rt', 'pcpu-6.12'], 'names label the runs as given');
  t.same(parseVmTestArgs(['--kernel', 'debian-6.1.0-57'], SCENARIOS).cells[0]?.spec, { kernel: 'debian-6.1.0-57' });
  t.throws(() => parseVmTestArgs(['--kernel', 'debian-sid'], SCENARIOS), /--kernel debian-sid: not a Debian kernel name\n  fix: pass debian-6\.1, debian-6\.12, debian-6\.12-rt/);
  t.throws(() => parseVmTestArgs(['--kernel', 'debian-6.12', '--kdir', '/tmp'], SCENARIOS), /--kdir without --kernel IMAGE/, 'a named kernel brings its own kbuild tree');
  t.equal(parseVmTestArgs(['--patch', 'a', '--base', 'pcpu-6.12'], SCENARIOS).base, 'pcpu-6.12');
});

t.test('an interrupt exits with its signal\'s shell status: a CI timeout reads 143', async (t) => {
  const { signalStatus } = await import('../../src/cli/interrupt.js');
  t.equal(signalStatus('SIGINT'), 130);
  t.equal(signalStatus('SIGTERM'), 143);
  t.equal(signalStatus('SIGHUP'), 129);
});

t.test('--scenario takes globs; --topology refuses a duplicate and speaks of itself', async (t) => {
  const names = (argv: string[]): string[] => parseVmTestArgs(argv, SCENARIOS).scenarios.map((s) => s.name);
  const unreg = SCENARIOS.filter((s) => s.name.startsWith('unregister-')).map((s) => s.name);
  t.ok(unreg.length >= 4);
  t.same(names(['--scenario', 'unregister-*']), unreg, 'a glob: its matches in the suite order');
  t.same(names(['--scenario', 'lifecycle', '--scenario', 'unregister-held', '--scenario', 'unregister-h?ld']), ['lifecycle', 'unregister-held'], 'the order given, each once');
  t.throws(() => parseVmTestArgs(['--scenario', 'nothing-*'], SCENARIOS), /no scenario matches "nothing-\*"/);
  t.throws(() => parseVmTestArgs(['--scenario', 'lifecycl'], SCENARIOS), /no scenario matches "lifecycl"/, 'a name is a whole-name match');
  t.throws(() => parseVmTestArgs(['--topology', '2:4,3:5,2:4'], SCENARIOS), /--topology names 2:4 twice/);
  t.throws(() => parseVmTestArgs(['--topology', '2,2:4'], SCENARIOS), /--topology names 2:4 twice/, '2 is 2:4');
  t.throws(() => parseVmTestArgs(['--topology', '0:1'], SCENARIOS), /--topology 0:1: 0 online CPUs is not from 1 to 64/);
  t.throws(() => parseVmTestArgs(['--topology', '3:2'], SCENARIOS), /--topology 3:2: 2 possible CPUs is below 3 online/);
});

t.test('every command: a bad option in one line with a fix (exit 2, no stack trace), and --version', async (t) => {
  const { execa } = await import('execa');
  const { repoRoot } = await import('../fixtures.js');
  const path = await import('node:path');
  // make debian-vm's entry lives with the SSH tests it serves (test/ssh-host/).
  const entry = (cmd: string): string => (cmd === 'debian-vm' ? 'dist/test/ssh-host/main.js' : `dist/harness/${cmd}.js`);
  for (const cmd of ['vm-test', 'compare', 'kernels', 'mutants', 'merge', 'prune', 'bench', 'debian-vm']) {
    const js = path.join(repoRoot, entry(cmd));
    const bad = await execa('node', [js, '--frobnicate'], { reject: false });
    t.equal(bad.exitCode, 2, `${cmd} --frobnicate: exit 2`);
    t.match(bad.stderr, new RegExp(`^${cmd}: Unknown option '--frobnicate'.*\\n  fix: see ${cmd} --help\\n?$`), `${cmd}: one line and a fix`);
    t.notMatch(bad.stderr, /internal error|\n\s+at /, `${cmd}: no stack trace`);
    const v = await execa('node', [js, '--version'], { reject: false });
    t.equal(v.exitCode, 0);
    t.match(v.stdout, new RegExp(`^${cmd} \\(pcpu-refcnt-harness\\) \\d+\\.\\d+\\.\\d+, (commit [0-9a-f]{12}( with local changes)?|not a git checkout: no commit)$`), `${cmd} --version names the harness commit`);
  }
});

t.test('--append and --qemu-arg: passed after the harness\'s own, refused where the harness owns them', async (t) => {
  const a = parseVmTestArgs(['--append', 'loglevel=8 initcall_debug', '--append', 'dyndbg=+p', '--qemu-arg=-d guest_errors', '--qemu-arg=-D /tmp/q.log'], SCENARIOS);
  t.same(a.guest.append, ['loglevel=8', 'initcall_debug', 'dyndbg=+p']);
  t.same(a.guest.qemuExtra, ['-d', 'guest_errors', '-D', '/tmp/q.log']);
  const cfg: GuestConfig = { qemu: 'q', kernel: 'k', initrd: 'i', accel: 'tcg', machine: 'pc', cpus: 2, memoryMb: 256, channelSocket: '/s', cmdline: a.guest.append, extraArgs: a.guest.qemuExtra, agentIdleSec: 120 };
  const line = kernelCmdline(cfg);
  t.ok(line.indexOf('loglevel=8') > line.indexOf('quiet'), 'after quiet: the last loglevel wins, so the whole boot log reaches console.log');
  t.same(qemuArgs(cfg).slice(-4), ['-d', 'guest_errors', '-D', '/tmp/q.log'], 'QEMU options last');
  for (const [bad, why] of [['console=ttyS1', /the console is ttyS0/], ['oops=continue', /end the run at a crash/], ['possible_cpus=8', /--topology/], ['refprobe.idle=1', /agent/]] as const) {
    t.throws(() => parseVmTestArgs(['--append', `loglevel=8 ${bad}`], SCENARIOS), why, `--append ${bad} refused`);
  }
  for (const bad of ['-smp 4', '-m 1G', '-machine q35', '--cpu host', '-append x', '-serial null']) {
    t.throws(() => parseVmTestArgs([`--qemu-arg=${bad}`], SCENARIOS), /--qemu-arg -+\w+: the harness sets this itself/, `--qemu-arg ${bad} refused`);
  }
  t.throws(() => parseVmTestArgs(['--qemu-arg', '-d'], SCENARIOS), /argument is ambiguous/, 'the space form: parseArgs says to use --qemu-arg=');
  t.throws(() => parseVmTestArgs(['--target', 'ssh://h', '--append', 'x=1'], SCENARIOS), /--append/, 'a machine over SSH booted its own command line');
});
