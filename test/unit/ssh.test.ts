import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseVmTestArgs } from '../../src/cli/vm-test-args.js';
import { SCENARIOS } from '../../src/scenarios/index.js';
import { consoleLines, KmsgConsole, kmsgMarker, parseKmsgRecord } from '../../src/backend/ssh/kmsg.js';
import { parseFacts, remoteProblem, taintFlags, type RemoteFacts } from '../../src/backend/ssh/remote-facts.js';
import { checkSshOption, commandArgs, directArgs, formatDestination, masterArgs, parseSshUrl, type SshSettings } from '../../src/backend/ssh/ssh-args.js';
import { classifyConsole } from '../../src/crash/classify.js';
import { builderLock } from '../ssh-host/debian-image.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

t.test('ssh:// addresses: user, host, port; anything else is refused with the form to use', async (t) => {
  t.same(parseSshUrl('ssh://root@lab-box'), { user: 'root', host: 'lab-box', port: null });
  t.same(parseSshUrl('ssh://127.0.0.1:2222'), { user: null, host: '127.0.0.1', port: 2222 });
  t.same(parseSshUrl('ssh://root@[::1]:22/'), { user: 'root', host: '::1', port: 22 });
  t.equal(formatDestination(parseSshUrl('ssh://root@[::1]:22')), 'ssh://root@[::1]:22');
  for (const bad of ['lab-box', 'ssh://', 'ssh://root@host:0', 'ssh://root@host:70000', 'ssh://-oProxyCommand=x', 'http://host', 'ssh://a b']) {
    t.throws(() => parseSshUrl(bad), /SSH address|out of range|cannot start/, bad);
  }
});

t.test('ssh command lines: one master, BatchMode first, the user options before the defaults they may change', async (t) => {
  const s: SshSettings = {
    dest: { user: 'root', host: 'box', port: 2222 },
    identity: '/k/id',
    options: ['UserKnownHostsFile=/k/known', 'ConnectTimeout=3'],
    controlPath: '/tmp/x/cm',
    connectTimeoutSec: 10,
  };
  const m = masterArgs(s);
  t.same(m.slice(0, 4), ['-o', 'BatchMode=yes', '-o', 'ControlPath=/tmp/x/cm']);
  t.ok(m.indexOf('ConnectTimeout=3') < m.indexOf('ConnectTimeout=10'), "ssh takes an option's first value: the user's wins");
  t.same(m.slice(-7), ['-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-N', '--', 'box'], 'the host after --: a host name is never an option');
  t.ok(m.includes('-N'));
  t.same(m.slice(m.indexOf('-i'), m.indexOf('-i') + 2), ['-i', '/k/id']);
  t.same(m.slice(m.indexOf('-p'), m.indexOf('-p') + 2), ['-p', '2222']);
  t.same(m.slice(m.indexOf('-l'), m.indexOf('-l') + 2), ['-l', 'root']);
  const c = commandArgs(s, 'uname -r');
  t.same(c.slice(-3), ['--', 'box', 'uname -r']);
  t.ok(c.includes('ControlMaster=no'));
  const d = directArgs(s, 'rmmod refprobe');
  t.ok(d.includes('ControlPath=none') && !d.includes('ControlPath=/tmp/x/cm'), 'the clean-up after a lost master opens its own connection');
  t.equal(checkSshOption('UserKnownHostsFile=/a b'), 'UserKnownHostsFile=/a b');
  t.throws(() => checkSshOption('ControlPath=/x'), /sets ControlPath itself/);
  t.throws(() => checkSshOption('BatchMode=no'), /sets BatchMode itself/);
  t.throws(() => checkSshOption('-oFoo'), /not KEY=VALUE/);
});

t.test('the kernel log over SSH: records from the run marker on, as a console prints them', async (t) => {
  const text = readFileSync(path.join(fixtures, 'kmsg-6.1.0-57-amd64-debian-two-runs.txt'), 'utf8');
  t.same(parseKmsgRecord('0,507,232628273,-;unregister_netdevice: waiting for rpwait0 to become free. Usage count = 3'), {
    level: 0,
    seq: 507,
    usec: 232628273,
    text: 'unregister_netdevice: waiting for rpwait0 to become free. Usage count = 3',
  });
  t.equal(parseKmsgRecord(' SUBSYSTEM=acpi'), null, 'a continuation line is not a record');
  t.equal(parseKmsgRecord('6,86,0,-;rcu: \\x09RCU restricting CPUs')?.text, 'rcu: \tRCU restricting CPUs', '\\xNN escapes decoded');
  t.same(consoleLines({ level: 6, seq: 1, usec: 5_000_042, text: 'a\nb' }), ['[    5.000042] a', '[    5.000042] b']);

  // The second run's view: nothing before its marker (the boot, the first run's wait line).
  const marker = kmsgMarker('691-1796142658165');
  for (const size of [1, 97, text.length]) {
    const k = new KmsgConsole(marker);
    const lines: string[] = [];
    for (let i = 0; i < text.length; i += size) lines.push(...k.push(text.slice(i, i + size)));
    t.equal(lines[0], `[  267.617235] ${marker}`, `chunks of ${size}: the marker first`);
    t.equal(lines.filter((l) => l.includes('waiting for rpwait0')).length, 1, 'only the run\'s own wait line');
    t.match(lines.at(-1), /run 691-1796142658165 ends$/);
    t.ok(k.started);
  }
  const k = new KmsgConsole(marker);
  const lines = k.push(text);
  t.same(
    classifyConsole(lines.join('\n')).map((c) => c.kind),
    ['unregister-wait'],
    'the classifier reads the kernel log as it reads a serial console',
  );
  // A reader the ring buffer overtook opens it again: what it saw before is not new.
  t.same(k.push(text), [], 'records seen once are not seen again');
  const gap = new KmsgConsole('m');
  gap.push('6,10,1,-;m\n6,11,2,-;a\n6,15,3,-;b\n');
  t.equal(gap.lost, 3, 'records the ring buffer dropped are counted');
  const never = new KmsgConsole('not there');
  t.same(never.push(text), []);
  t.notOk(never.started);
});

const FACTS = `uid=0
release=6.1.0-57-amd64
banner=Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)
arch=x86_64
tainted=0
modules_disabled=0
lockdown=[none] integrity confidentiality
sig_enforce=N
debugfs_mounted=1
debugfs_known=1
possible=0-1
present=0-1
online=0-1
kbuild=/lib/modules/6.1.0-57-amd64/build
gcc=/usr/bin/gcc
make=/usr/bin/make
bash=/usr/bin/bash
base64=/usr/bin/base64
insmod=/usr/sbin/insmod
`;

t.test('a machine that cannot take the module is refused with the cause and the fix', async (t) => {
  const f = parseFacts(FACTS);
  t.equal(f.lockdown, 'none');
  t.equal(f.kbuild, '/lib/modules/6.1.0-57-amd64/build');
  const c = { where: 'ssh://root@box', kdirHere: null, allowTainted: false };
  t.equal(remoteProblem(f, c), null, 'the Debian image as it is: nothing stops the run');
  const cases: [Partial<RemoteFacts>, RegExp, RegExp][] = [
    [{ uid: 1000 }, /needs root on ssh:\/\/root@box/, /ssh:\/\/root@HOST/],
    [{ lockdown: 'integrity' }, /locked down \(integrity\)/, /Secure Boot/],
    [{ sigEnforce: true }, /enforces module signatures/, /sig_enforce/],
    [{ modulesDisabled: true }, /modules_disabled=1/, /reboot/],
    [{ debugfsMounted: false }, /debugfs is not mounted/, /mount -t debugfs/],
    [{ debugfsKnown: false, debugfsMounted: false }, /has no debugfs/, /CONFIG_DEBUG_FS/],
    [{ tainted: 128 + 4096 }, /tainted by an oops \(taint 4224: DO\)/, /--allow-tainted/],
    [{ kbuild: null, gcc: false }, /lacks a kbuild tree at \/lib\/modules\/6.1.0-57-amd64\/build, gcc/, /linux-headers-6.1.0-57-amd64.*--kdir/],
    [{ bash: false }, /lacks bash/, /apt-get install/],
  ];
  for (const [diff, what, fix] of cases) {
    const e = remoteProblem({ ...f, ...diff }, c);
    t.match(e?.what, what, JSON.stringify(diff));
    t.match(e?.fix, fix);
  }
  t.equal(remoteProblem({ ...f, tainted: 128 }, { ...c, allowTainted: true }), null, '--allow-tainted');
  t.equal(remoteProblem({ ...f, tainted: 4096 + 8192 }, c), null, 'an earlier refprobe (O, E) is no oops');
  t.equal(remoteProblem({ ...f, kbuild: null, gcc: false }, { ...c, kdirHere: '/k' }), null, 'built here: the machine needs no compiler');
  t.match(remoteProblem({ ...f, arch: 'aarch64' }, { ...c, kdirHere: '/k' })?.what, /aarch64/);
  t.equal(taintFlags(12288), 'OE');
  t.throws(() => parseFacts('Permission denied'), /facts could not be read/);
});

t.test('--target: one run on the machine, QEMU options refused, SSH options only with it', async (t) => {
  const a = parseVmTestArgs(['--target', 'ssh://root@box:2222', '--identity', '/k/id', '--ssh-option', 'UserKnownHostsFile=/k/kh', '--allow-cpu-offline'], SCENARIOS);
  t.equal(a.cells.length, 0, 'no QEMU cell (no 0:0 topology standing for the machine): the machine itself is the one run');
  t.equal(a.remoteLabel, 'ssh-box-2222');
  t.same(a.remote, {
    ssh: { dest: { user: 'root', host: 'box', port: 2222 }, identity: '/k/id', options: ['UserKnownHostsFile=/k/kh'], connectTimeoutSec: 10 },
    kdirHere: null,
    allowCpuOffline: true,
    allowTainted: false,
  });
  t.equal(parseVmTestArgs(['--target', 'ssh://box', '--kdir', '/k'], SCENARIOS).remote?.kdirHere, '/k', '--kdir: built here');
  t.equal(parseVmTestArgs([], SCENARIOS).remote, null);
  for (const o of [['--smp', '2'], ['--kernel', 'pcpu'], ['--patch', 'x.patch'], ['--topology', '2:4'], ['--jobs', '2']]) {
    t.throws(() => parseVmTestArgs(['--target', 'ssh://box', ...o], SCENARIOS), new RegExp(`--target with ${o[0]}`));
  }
  t.throws(() => parseVmTestArgs(['--allow-cpu-offline'], SCENARIOS), /--allow-cpu-offline without --target/);
  t.throws(() => parseVmTestArgs(['--target', 'box'], SCENARIOS), /not an SSH address/);
});

t.test('the Debian image has one builder at a time: a live one is waited for, a dead one taken over', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rp-lock-'));
  const lock = path.join(dir, 'k.lock');
  const entry = path.join(dir, 'k');
  const said: string[] = [];
  await writeFile(lock, '999999999');
  t.equal(await builderLock(lock, entry, (l) => said.push(l)), true, 'a dead builder: its lock is taken');
  t.equal(await readFile(lock, 'utf8'), String(process.pid));
  const other = spawn('sleep', ['30']);
  await writeFile(lock, String(other.pid));
  setTimeout(() => void mkdir(entry), 300);
  t.equal(await builderLock(lock, entry, (l) => said.push(l)), false, 'a live builder that finishes: its image is used');
  t.match(said.join('\n'), new RegExp(`waiting for process ${other.pid}, which is building it`));
  other.kill();
  await rm(dir, { recursive: true, force: true });
});
