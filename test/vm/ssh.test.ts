/**
 * The suite over SSH on a real system: Debian 12 built from Debian's
 * packages (systemd, openssh-server, Debian's kernel and headers, gcc,
 * make), booted in QEMU and reachable only through a port forward on
 * 127.0.0.1, as a lab machine would be. Nothing about it is mocked: its
 * sshd, its kernel log, its CPUs' online files.
 */
import t, { type Test } from 'tap';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { spread } from '../../src/bench/stats.js';
import { RefProbe } from '../../src/probe/client.js';
import { sshBackend } from '../../src/backend/ssh/guest.js';
import { loadProbe } from '../../src/run/guest.js';
import { AgentChannel } from '../../src/backend/agent/agent-channel.js';
import { QUIT } from '../../src/backend/agent/framing.js';
import type { SshTarget } from '../../src/backend/ssh/ssh-target.js';
import { TargetError } from '../../src/backend/target.js';
import { debianImage, type DebianImage } from '../ssh-host/debian-image.js';
import { bootDebianVm, type DebianVm } from '../ssh-host/debian-vm.js';
import { repoRoot } from '../fixtures.js';
import { HOLD_TWICE_FAILS, OUT, reportOf, streamProgress, VM_TEST } from '../vm-harness.js';

let image: DebianImage;
let vm: DebianVm;
const channelSocket = path.join(os.tmpdir(), `refprobe-ssh-test-${process.pid}.sock`);
let channel: net.Socket | null = null;
const channelServer = net.createServer((s) => (channel = s));

t.before(async () => {
  image = await debianImage((l) => process.stderr.write(`  | ${l}\n`));
  await new Promise<void>((resolve) => channelServer.listen(channelSocket, resolve));
  vm = await bootDebianVm({
    image,
    qemu: 'qemu-system-x86_64',
    accel: 'auto',
    cpus: 2,
    memoryMb: 1024,
    consoleLog: path.join(OUT, `debian-vm-${process.pid}.console.log`),
    bootTimeoutSec: 300,
    channelSocket,
    progress: (l) => process.stderr.write(`  | ${l}\n`),
  });
});

t.teardown(async () => {
  channel?.destroy();
  channelServer.close();
  await vm?.stop();
});

/** The ssh options that reach the VM, as a user would pass them. */
const sshArgs = (): string[] => ['--target', vm.url, '--identity', vm.identity, ...vm.sshOptions.flatMap((o) => ['--ssh-option', o])];

function vmTestSsh(args: string[], timeoutMs = 600_000) {
  return streamProgress(execa('node', [VM_TEST, '--out', OUT, ...sshArgs(), ...args], { reject: false, all: true, timeout: timeoutMs }));
}

/** A command on the machine, outside the harness: what the harness left there. */
async function onMachine(cmd: string): Promise<string> {
  const r = await execa('ssh', [...vm.sshOptions.flatMap((o) => ['-o', o]), '-o', 'BatchMode=yes', '-i', vm.identity, '-p', String(vm.port), 'root@127.0.0.1', cmd], { reject: false, timeout: 60_000 });
  return r.stdout.trim();
}

/** Nothing of the run on the machine: no module, no run directory, no process of it, every CPU online, the machine free for the next run. */
async function machineIsClean(t: Test, when: string): Promise<void> {
  t.equal(await onMachine('grep -c "^refprobe " /proc/modules || true'), '0', `${when}: refprobe is not loaded`);
  t.equal(await onMachine('ls -d /tmp/refprobe.* 2>/dev/null | wc -l'), '0', `${when}: the run's directory is gone`);
  t.equal(await onMachine('cat /sys/devices/system/cpu/online'), '0-1', `${when}: every CPU is online`);
  // [a] and [c]: the pattern must not match the command line of the shell that runs it.
  t.equal(await onMachine('ps -eo pid,args | grep -E "[a]gent_loop|[c]at /dev/kmsg" || true'), '', `${when}: no agent and no kernel log reader left running`);
  t.equal(await onMachine('test -e /run/refprobe-harness.lock && echo held || echo free'), 'free', `${when}: the machine's lock is released`);
}

t.test('the whole suite over SSH, the module built on the machine: it passes, and skips only what a running machine cannot give', async (t) => {
  const r = await vmTestSsh(['--allow-cpu-offline']);
  t.equal(r.exitCode, 0, `exit 0\n${r.all}`);
  const report = await reportOf(r.stderr);
  t.equal(report.ok, true);
  t.equal(report.target, `ssh ${vm.url}`);
  t.equal(report.kernel?.release, image.release, "the machine's running kernel");
  t.match(report.kernel?.kdir, /^on the machine against \/lib\/modules\/.*\/build$/);
  t.match(report.module?.vermagic, new RegExp(`^${image.release.replace(/\./g, '\\.')} SMP`));
  t.equal(report.variant, 'pcpu');
  t.same(report.topology?.online, [0, 1]);
  const skipped = Object.fromEntries(report.scenarios.filter((s) => s.status === 'skip').map((s) => [s.name, s.steps.find((x) => x.skip)?.skip ?? '']));
  t.same(Object.keys(skipped), ['racing-reader', 'tracker-leak', 'possible-cpus', 'cpu-unplug'], 'skips, never passes');
  t.match(skipped['cpu-unplug'], /cannot plug or unplug CPUs/);
  t.match(skipped['possible-cpus'], /running machine cannot be given absent ones/);
  t.equal(report.scenarios.find((s) => s.name === 'cpu-hotplug')?.status, 'pass', '--allow-cpu-offline: a CPU really went offline and came back');
  t.equal(report.scenarios.find((s) => s.name === 'memory-cost')?.status, 'pass', 'a machine just booted: Percpu shows what the devices cost');
  const log = await readFile(report.files.console, 'utf8');
  t.match(log, /refprobe-harness: run \S+ starts/, 'the console is the kernel log from the run marker on');
  t.match(log, /smpboot: CPU 1 is now offline/);
  t.match(log, /unregister_netdevice: waiting for rpwait0 to become free/, 'the wait line the unregister scenario provokes, seen in the kernel log');
  t.notMatch(log, /Hostname set to/, 'nothing from before the run');
  await machineIsClean(t, 'after a passing run');
});

t.test('the same suite with the module built here against the image headers and copied over', async (t) => {
  const r = await vmTestSsh(['--kdir', image.kbuild]);
  t.equal(r.exitCode, 0, `exit 0\n${r.all}`);
  const report = await reportOf(r.stderr);
  t.match(report.kernel?.kdir, /^here against /);
  for (const name of ['cpu-hotplug', 'unregister-offline-cpu']) {
    const s = report.scenarios.find((x) => x.name === name);
    t.equal(s?.status, 'skip', `${name}: no CPU goes offline without --allow-cpu-offline`);
    t.match(s?.steps.find((x) => x.skip)?.skip, /--allow-cpu-offline/);
  }
  const memory = report.scenarios.find((x) => x.name === 'memory-cost');
  t.equal(memory?.status, 'skip', 'memory-cost after an earlier run: a skip, never a pass or a false failure');
  t.match(memory?.steps.find((x) => x.skip)?.skip, /room populated by earlier allocations .* reboot the machine to measure it/);
  await machineIsClean(t, 'after it');
});

t.test('a wrong kernel (every hold counts twice) fails over SSH in the scenarios it fails in QEMU', async (t) => {
  // One scenario of each kind the fault reaches (plain holds, the unregister wait, a CPU offline, unload) and two it cannot:
  // the whole list takes 80 s here, most of it waiting on unregisters the fault keeps from finishing.
  const chosen = ['lifecycle', 'hold-put-every-cpu', 'extremes', 'unregister-held', 'cpu-hotplug', 'dummy-device', 'unload-releases'];
  const r = await vmTestSsh(['--kdir', image.kbuild, '--allow-cpu-offline', '--fault', 'hold-twice', ...chosen.flatMap((n) => ['--scenario', n])]);
  t.not(r.exitCode, 0, 'the run fails');
  const report = await reportOf(r.stderr);
  const failed = report.scenarios.filter((s) => s.status !== 'pass' && s.status !== 'skip').map((s) => s.name);
  t.same(failed, chosen.filter((n) => HOLD_TWICE_FAILS.includes(n)), 'exactly those that fail in QEMU');
  t.same(report.scenarios.filter((s) => s.status === 'pass').map((s) => s.name), ['lifecycle', 'dummy-device'], 'the others pass');
  await machineIsClean(t, 'after the failing run');
});

t.test('the connection lost mid-run: exit 3 with the reason, and the machine cleaned up over a new one', async (t) => {
  const proc = vmTestSsh(['--kdir', image.kbuild]);
  let killed = false;
  proc.stderr?.on('data', (c: Buffer) => {
    if (killed || !/scenario 3\/\d+/.test(c.toString())) return;
    killed = true;
    // The master connection: every session of the run goes through it.
    void execa("pkill", ["-f", "--", `-p ${vm.port} .*ControlMaster=yes`], { reject: false });
  });
  const r = await proc;
  t.ok(killed, 'the master connection was killed during scenario 3');
  t.equal(r.exitCode, 3, `exit 3\n${r.stderr}`);
  t.match(r.stderr, new RegExp(`the SSH connection to ${vm.url.replace(/\./g, '\\.')} was lost`));
  t.match(r.stderr, /connecting to .* again to clean up/);
  t.notMatch(r.stderr, /NOT CLEANED UP/);
  const report = await reportOf(r.stderr);
  t.equal(report.errorKind, 'guest');
  await machineIsClean(t, 'after the lost connection');
});

t.test('Ctrl-C with a CPU offline: exit 130, the CPU back online, the module unloaded', async (t) => {
  const proc = vmTestSsh(['--kdir', image.kbuild, '--allow-cpu-offline', '--verbose', '--scenario', 'unregister-offline-cpu']);
  let sent = false;
  proc.stderr?.on('data', (c: Buffer) => {
    if (sent || !/CPU 1 is now offline/.test(c.toString())) return;
    sent = true;
    proc.kill('SIGINT');
  });
  const r = await proc;
  t.ok(sent, 'SIGINT came while CPU 1 was offline');
  t.equal(r.exitCode, 130, `exit 130\n${r.stderr}`);
  const report = await reportOf(r.stderr);
  t.equal(report.errorKind, 'interrupted');
  await machineIsClean(t, 'after Ctrl-C');
});

t.test('one run per machine: a second one while the first holds it is refused, and touches nothing', async (t) => {
  // Scenarios that wait on the kernel (~5 s): the first must still hold the machine when the second reads who has it.
  const first = vmTestSsh(['--kdir', image.kbuild, '--allow-cpu-offline', '--scenario', 'unregister-offline-cpu', '--scenario', 'unregister-held', '--scenario', 'unregister-rebroadcast', '--scenario', 'lifecycle']);
  let second: Awaited<ReturnType<typeof vmTestSsh>> | null = null;
  let started = false;
  first.stderr?.on('data', (c: Buffer) => {
    if (started || !/is this run's/.test(c.toString())) return;
    started = true;
    second = null;
    void vmTestSsh(['--kdir', image.kbuild, '--scenario', 'lifecycle']).then((r) => (second = r));
  });
  const r1 = await first;
  while (started && second === null) await new Promise((r) => setTimeout(r, 200));
  const r2 = second as Awaited<ReturnType<typeof vmTestSsh>> | null;
  t.equal(r1.exitCode, 0, `the first run passes, undisturbed\n${r1.stderr}`);
  t.equal(r2?.exitCode, 2, 'the second: exit 2');
  t.match(r2?.stderr, /another run of the harness is using ssh:\/\/root@127\.0\.0\.1:\d+ \(\/run\/refprobe-harness\.lock, run \S+\)/);
  await machineIsClean(t, 'after both');
});

t.test('a machine the module cannot be used on is refused before anything loads, with the fix', async (t) => {
  await onMachine('umount /sys/kernel/debug');
  try {
    const r = await vmTestSsh(['--kdir', image.kbuild]);
    t.equal(r.exitCode, 2, 'exit 2: set-up');
    t.match(r.stderr, /debugfs is not mounted on ssh:\/\/root@127\.0\.0\.1:\d+\n\s+fix: mount it there: mount -t debugfs none \/sys\/kernel\/debug/);
  } finally {
    await onMachine('mount -t debugfs none /sys/kernel/debug');
  }
  const r = await vmTestSsh(['--kdir', image.kbuild, '--scenario', 'lifecycle']);
  t.equal(r.exitCode, 0, 'debugfs back: it runs');
  await machineIsClean(t, 'after the refusal');
  const bad = await execa('node', [VM_TEST, '--out', OUT, '--target', `ssh://root@127.0.0.1:${vm.port}`, '--identity', vm.identity, '--ssh-option', 'UserKnownHostsFile=/dev/null', '--ssh-option', 'StrictHostKeyChecking=yes'], {
    reject: false,
    timeout: 120_000,
  });
  t.equal(bad.exitCode, 2, 'an unknown host key: exit 2');
  t.match(bad.stderr, /cannot connect to ssh:\/\/root@127\.0\.0\.1:\d+: .*Host key verification failed/);
  t.match(bad.stderr, /fix: check that ssh -i .* true works without a prompt/);
});

t.test('a step over SSH against the same step over a serial port, on the same machine and agent', async (t) => {
  const progress = (l: string): void => void process.stderr.write(`  | ${l}\n`);
  const backend = sshBackend({ ssh: { dest: { user: 'root', host: '127.0.0.1', port: vm.port }, identity: vm.identity, options: vm.sshOptions, connectTimeoutSec: 10 }, kdirHere: image.kbuild, allowCpuOffline: false, allowTainted: false });
  const opened = await backend.open({ repoRoot, consoleLog: path.join(OUT, `ssh-speed-${process.pid}.kmsg.log`), onConsoleLine: () => undefined, progress, bootTimeoutSec: 60, commandTimeoutSec: 60 });
  const ssh = opened.target as SshTarget;
  try {
    const remote = { guest: await loadProbe(opened, {}) };
    // The agent a QEMU guest runs on its second serial port, started on this machine's ttyS1.
    const serial = new AgentChannel(30_000);
    const sock = channel;
    if (!sock) throw new Error('QEMU did not connect the serial channel');
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => serial.push(c));
    serial.attach((line) => sock.write(line));
    const dir = `${ssh.remoteDir}/serial`;
    const start = await ssh.exec(`mkdir -p ${dir} && stty -F /dev/ttyS1 raw -echo && (setsid bash -c '. ${ssh.remoteDir}/agent.sh && agent_loop 120 ${dir} bash' <>/dev/ttyS1 >&0 2>/dev/null &)`);
    t.equal(start.exitCode, 0, `the serial agent started: ${start.stderr}`);
    await serial.waitReady(30_000, 'the agent on ttyS1');
    const viaSerial = new RefProbe({ description: 'ttyS1', failure: null, settled: async () => undefined, close: async () => undefined, run: (s) => serial.run(s), write: (f, x) => serial.write(f, x), read: (f) => serial.read(f) }, remote.guest.probe.modulePath);
    const viaSsh = remote.guest.probe;
    await viaSsh.must('alloc rprt0 0');
    const times: Record<'ssh' | 'serial', number[]> = { ssh: [], serial: [] };
    const n = 30;
    for (let i = 0; i < n; i++) {
      for (const [k, p] of [['ssh', viaSsh], ['serial', viaSerial]] as const) {
        const t0 = performance.now();
        await p.ctl('hold rprt0 0 1');
        await p.devices();
        times[k].push(performance.now() - t0);
      }
    }
    await viaSsh.must(`put rprt0 0 ${2 * n}`);
    await viaSsh.must('free rprt0');
    const s = spread(times.ssh);
    const q = spread(times.serial);
    t.equal(s.n, n);
    t.equal(q.n, n);
    t.comment(`one hold + one devices read on the Debian guest (${image.release}, TCG, 2 CPUs), ${n} each, alternated: over SSH ${s.median.toFixed(1)} ms [${s.min.toFixed(1)}-${s.max.toFixed(1)}], over the serial port ${q.median.toFixed(1)} ms [${q.min.toFixed(1)}-${q.max.toFixed(1)}], SSH - serial ${(s.median - q.median).toFixed(1)} ms`);
    sock.write(QUIT);
    serial.fail(new TargetError('closed', 'done'));
  } finally {
    await opened.close();
  }
  await machineIsClean(t, 'after the measurement');
});
