/**
 * What a kernel engineer expects when things go wrong: bad input to the
 * module refused with a message and no oops; a kernel/headers mismatch
 * refused before boot; Ctrl-C stops QEMU and still writes the report;
 * in-guest workers that outlive their timeout are stopped and accounted for.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile, mkdir, copyFile, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type Result } from 'execa';
import { classifyConsole } from '../../src/crash/classify.js';
import { discoverKernel } from '../../src/kernel/discover.js';
import { buildModule } from '../../src/module/build.js';
import { buildInitramfs } from '../../src/initramfs/build.js';
import { buildAgent } from '../../src/initramfs/static-program.js';
import { RefProbe } from '../../src/probe/client.js';
import { QemuTarget } from '../../src/backend/qemu/qemu-target.js';
import { chooseAccel } from '../../src/backend/qemu/accel.js';
import { repoRoot } from '../fixtures.js';
import { bootGuest, prepareGuest } from '../../src/backend/qemu/guest.js';
import { loadProbe } from '../../src/run/guest.js';
import { GUEST_MODULE_PATH } from '../../src/initramfs/build.js';
import { BAD_INPUT } from '../../src/scenarios/bad-input.js';
import { OUT, reportOf, strayQemus, VM_TEST, vmTest } from '../vm-harness.js';


t.test('bad input to the module: refused with errno and message, never an oops', async (t) => {
  const kernel = await discoverKernel();
  const mod = await buildModule(kernel, path.join(repoRoot, 'kmod'));
  const initrd = await buildInitramfs({ busybox: '/bin/busybox', init: path.join(repoRoot, 'vm/guest/init'), agent: await buildAgent(repoRoot), module: mod.ko });
  const accel = await chooseAccel('auto', 'qemu-system-x86_64');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-'));
  const lines: string[] = [];
  const target = await QemuTarget.boot({
    guest: { qemu: 'qemu-system-x86_64', kernel: kernel.image, initrd: initrd.path, accel: accel.accel, machine: 'pc', cpus: 2, memoryMb: 256, channelSocket: path.join(dir, 'ch.sock'), cmdline: [], agentIdleSec: 120 },
    consoleLog: path.join(dir, 'console.log'),
    bootTimeoutMs: 120_000,
    defaultTimeoutMs: 30_000,
    onConsoleLine: (l) => lines.push(l),
  });
  try {
    const probe = new RefProbe(target);
    await probe.load();
    await probe.must('alloc rpbad 0');
    for (const [cmd, errno, message] of BAD_INPUT) {
      const r = await probe.ctl(cmd);
      t.equal(r.ok, false, `"${cmd}" refused`);
      t.equal(r.errno, errno, `"${cmd}": ${errno}`);
      t.match(r.error, message, `"${cmd}": ${message.source}`);
    }
    // One 200-byte write: longer than any command (the limit is 127 bytes).
    const long = await target.run(`head -c 200 /dev/zero | tr '\\0' a | dd of=/sys/kernel/debug/refprobe/ctl bs=200 count=1`);
    t.not(long.exitCode, 0, 'an overlong write fails');
    t.match(long.stderr, /Invalid argument/, 'an overlong write is refused with EINVAL');
    const dev = await probe.device('rpbad');
    t.equal(dev?.refcnt, 1, 'the device is untouched by all of it');
    await probe.must('free rpbad');
    t.equal((await probe.unload()).ok, true, 'the module unloads');
  } finally {
    await target.close();
    await rm(dir, { recursive: true, force: true });
  }
  t.same(classifyConsole(lines.join('\n')), [], 'the console stays free of WARN/BUG/oops');
});

t.test('a kernel image and a kbuild tree of another release are refused before boot', async (t) => {
  const kernel = await discoverKernel();
  const fake = await mkdtemp(path.join(os.tmpdir(), 'refprobe-kdir-'));
  await mkdir(path.join(fake, 'include/generated'), { recursive: true });
  await writeFile(path.join(fake, 'include/generated/utsrelease.h'), '#define UTS_RELEASE "6.99.0-other"\n');
  await writeFile(path.join(fake, 'Makefile'), '');
  const r = await execa('node', [VM_TEST, '--out', OUT, '--kernel', kernel.image, '--kdir', fake], { reject: false });
  t.equal(r.exitCode, 2, 'a set-up error');
  t.match(r.stderr, new RegExp(`is ${kernel.release.replace(/\./g, '\\.')} but the kbuild tree .* is 6\\.99\\.0-other`));
  t.match(r.stderr, /fix: pass --kdir with the tree of/);
  const bogus = path.join(fake, 'not-a-kernel');
  await copyFile('/etc/hostname', bogus).catch(() => writeFile(bogus, 'x'));
  const r2 = await execa('node', [VM_TEST, '--out', OUT, '--kernel', bogus, '--kdir', fake], { reject: false });
  t.equal(r2.exitCode, 2);
  t.match(r2.stderr, /is not a bootable x86 or arm64 kernel/);
  await rm(fake, { recursive: true, force: true });
});

async function tempDirs(): Promise<string[]> {
  return (await readdir(os.tmpdir())).filter((n) => n.startsWith('refprobe-')).sort();
}

t.test('Ctrl-C while the guest runs: QEMU is stopped, the report says so', async (t) => {
  const before = await tempDirs();
  const r = await signalWhen('SIGINT', ['--smp', '2'], /vm-test: boot:/, {}, 2000);
  t.not(r.exitCode, 0, 'an interrupted run does not pass');
  t.match(r.stderr, /SIGINT: stopping the guest/);
  const report = await reportOf(r.stderr);
  t.equal(report.error, 'interrupted');
  t.equal(r.exitCode, 130);
  t.same(await strayQemus(), [], 'no QEMU left running');
  t.same(await tempDirs(), before, 'no temp directory left behind');
});

t.test('a CI timeout (SIGTERM) while the guest runs: QEMU stopped, exit 143 (128 + SIGTERM), not 130', async (t) => {
  const r = await signalWhen('SIGTERM', ['--smp', '2'], /vm-test: boot:/, {}, 2000);
  t.match(r.stderr, /SIGTERM: stopping the guest/);
  t.equal((await reportOf(r.stderr)).error, 'interrupted', 'the report is written, and says why it ends there');
  t.equal(r.exitCode, 143);
  t.same(await strayQemus(), [], 'no QEMU left running');
});

t.test('a boot that never reaches the agent: the error says where the vCPUs were, the state is kept', async (t) => {
  const kernel = await discoverKernel();
  const mod = await buildModule(kernel, path.join(repoRoot, 'kmod'));
  const initrd = await buildInitramfs({ busybox: '/bin/busybox', init: path.join(repoRoot, 'vm/guest/init'), agent: await buildAgent(repoRoot), module: mod.ko });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-'));
  try {
    // 300 ms: no kernel is up by then, which is all this needs: a boot that times out while QEMU runs.
    const boot = QemuTarget.boot({
      guest: { qemu: 'qemu-system-x86_64', kernel: kernel.image, initrd: initrd.path, accel: 'tcg', machine: 'pc', cpus: 2, memoryMb: 256, channelSocket: path.join(dir, 'ch.sock'), qmpSocket: path.join(dir, 'qmp.sock'), cmdline: [], agentIdleSec: 120 },
      consoleLog: path.join(dir, 'console.log'),
      bootTimeoutMs: 300,
      defaultTimeoutMs: 30_000,
      onConsoleLine: () => undefined,
    });
    const err = await boot.then(() => null, (e: Error) => e);
    t.match(err?.message, /the guest agent did not start within 0.3 s; QEMU was running, its vCPUs at [ER]IP [0-9a-f]{8,16}, [ER]IP [0-9a-f]{8,16}: .*qemu-state\.txt/);
    t.match(await readFile(path.join(dir, 'qemu-state.txt'), 'utf8'), /^[ER]IP=[0-9a-f]{8,16}/m, 'the registers of every vCPU are kept');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  t.same(await strayQemus(), [], 'QEMU stopped');
});

t.test('two runs at once do not collide', async (t) => {
  const [a, b] = await Promise.all([vmTest(['--smp', '2', '--scenario', 'lifecycle']), vmTest(['--smp', '2', '--scenario', 'lifecycle'])]);
  t.equal(a.exitCode, 0, a.all);
  t.equal(b.exitCode, 0, b.all);
  const [ra, rb] = await Promise.all([reportOf(a.stderr), reportOf(b.stderr)]);
  t.not(ra.files.dir, rb.files.dir, 'each run has its own directory');
  t.same(await strayQemus(), []);
});

t.test('stress and race that outlive their timeout: stopped, joined, and every reference accounted for', async (t) => {
  const settings = { boot: 'auto', accel: 'auto', singlestep: 'auto', machine: 'pc', presentAs: 'auto', memoryMb: 256, qemu: 'qemu-system-x86_64', busybox: '/bin/busybox', append: [], qemuExtra: [] } as const;
  const prep = await prepareGuest({}, { ...settings, append: [], qemuExtra: [] }, { repoRoot, progress: () => undefined });
  const lines: string[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-'));
  // 50 ms instead of 120 s: ten million operations per CPU take about a second under TCG.
  const booted = await bootGuest(prep, { smp: 3, possibleCpus: 3 }, { ...settings, append: [], qemuExtra: [] }, { consoleLog: path.join(dir, 'console.log'), onConsoleLine: (l) => lines.push(l), progress: () => undefined, bootTimeoutSec: 120, commandTimeoutSec: 60 });
  const g = await loadProbe({ ...booted, modulePath: GUEST_MODULE_PATH, moduleRefused: null }, { worker_timeout_ms: 50 }).catch(async (e: Error) => {
    await booted.close();
    throw e;
  });
  try {
    await g.probe.must('alloc rpto 0');
    const before = await g.probe.device('rpto');
    const t0 = Date.now();
    const stress = await g.probe.ctl('stress rpto 7 10000000 64');
    t.equal(stress.errno, 'Connection timed out', 'stress: ETIMEDOUT');
    t.ok(Date.now() - t0 < 15_000, `stress returned after ${Date.now() - t0} ms, not after the streams`);
    const res = await g.probe.stress();
    const after = await g.probe.device('rpto');
    for (const [cpu, r] of res.cpus) {
      t.ok(r.holds + r.puts < 10_000_000, `CPU ${cpu} stopped early (${r.holds + r.puts} operations)`);
      t.equal(after?.pcpu?.get(cpu), (before?.pcpu?.get(cpu) ?? 0) + r.holds - r.puts, `CPU ${cpu}'s counter moved by exactly its stream's holds minus puts`);
    }
    t.equal(after?.refcnt, 1 + (after?.held ?? Number.NaN), 'the module accounts for every reference the stopped streams left');
    const race = await g.probe.ctl('race rpto 0 1 2 10000000 1');
    t.equal(race.errno, 'Connection timed out', 'race: ETIMEDOUT');
    t.equal((await g.probe.device('rpto'))?.refcnt, after?.refcnt, "race: the holder's leftover references were put back");
    for (let left = after?.held ?? 0; left > 0; left -= 1_000_000) await g.probe.must(`put rpto 0 ${Math.min(left, 1_000_000)}`);
    await g.probe.must('free rpto');
    t.equal((await g.probe.unload()).ok, true, 'the module unloads: no worker is left running its code');
  } finally {
    await g.close();
    await rm(dir, { recursive: true, force: true });
  }
  t.same(classifyConsole(lines.join('\n')), [], 'no WARN, BUG or oops');
  t.ok(lines.some((l) => l.includes('refprobe: workers did not finish in 50 ms: stopping them')), 'the guest says why');
});

/** Sends `sig` to vm-test `afterMs` after `when` shows on its stderr (or when it ends first). */
async function signalWhen(sig: NodeJS.Signals, args: string[], when: RegExp, env: Record<string, string> = {}, afterMs = 0): Promise<Result<{ reject: false; all: true }>> {
  const child = execa('node', [VM_TEST, '--out', OUT, ...args], { reject: false, all: true, env });
  let seen = '';
  await new Promise<void>((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (when.test(seen)) resolve();
    });
    void child.then(() => resolve());
  });
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill(sig);
  return child;
}

/** SIGKILL (no handler runs); what vm-test printed. */
async function killWhen(args: string[], when: RegExp, env: Record<string, string> = {}, afterMs = 0): Promise<string> {
  return (await signalWhen('SIGKILL', args, when, env, afterMs)).stderr;
}

async function qemusGoneWithin(ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  let left = await strayQemus();
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    left = await strayQemus();
  }
  return left;
}

t.test('SIGKILL at boot, during the module build and mid-run: no QEMU outlives the harness', async (t) => {
  // At boot: QEMU has just started, the guest is still in firmware or the kernel.
  // 500 ms after the boot line: QEMU runs and the guest is in firmware or the early kernel, printing nothing yet,
  // so no broken pipe ends QEMU: without a parent-death signal it ran on for minutes.
  let seen = await killWhen(['--smp', '2'], /vm-test: boot:/, {}, 500);
  t.match(seen, /vm-test: boot:/, 'killed at boot');
  t.same(await qemusGoneWithin(3000), [], 'at boot: QEMU gone within 3 s (its parent-death signal)');
  // With the guest up and idle (the agent waits for its first command): nothing on the console, so no
  // broken pipe would end QEMU either; only the parent-death signal does.
  seen = await killWhen(['--smp', '2'], /vm-test: guest: /);
  t.match(seen, /vm-test: guest: /, 'killed with the guest idle');
  t.same(await qemusGoneWithin(3000), [], 'the guest idle: QEMU gone within 3 s');
  // Mid-run: scenarios are running.
  seen = await killWhen(['--smp', '2'], /scenario 2\/\d+ /);
  t.match(seen, /scenario 2\//, 'killed mid-run');
  t.same(await qemusGoneWithin(3000), [], 'mid-run: QEMU gone within 3 s');
  // During a cold module build (a cache of its own): no QEMU yet, and what the build left is for make prune.
  const cache = await mkdtemp(path.join(os.tmpdir(), 'refprobe-killed-cache-'));
  try {
    seen = await killWhen(['--smp', '2'], /vm-test: (?:model|kernel)[^\n]*\n/, { REFPROBE_CACHE_DIR: cache });
    await new Promise((r) => setTimeout(r, 1500)); // make and gcc, orphaned, finish or die
    t.notMatch(seen, /vm-test: module:/, 'killed before the module was built');
    t.same(await qemusGoneWithin(3000), []);
    const pruned = await execa('node', [path.join(repoRoot, 'dist/harness/prune.js')], { reject: false, env: { REFPROBE_CACHE_DIR: cache } });
    t.equal(pruned.exitCode, 0, pruned.stderr);
    const leftovers = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const kind of await readdir(cache).catch(() => [] as string[])) for (const e of await readdir(path.join(cache, kind))) if (e.startsWith('.')) out.push(`${kind}/${e}`);
      return out;
    };
    t.same(await leftovers(), [], 'make prune removed the half-written cache entries of the killed run');
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

t.test('a disk that fills under --out: the verdict still printed, the exit status the run\'s, the lost files named', async (t) => {
  if (process.getuid?.() !== 0) { t.plan(0, 'mounting a small tmpfs needs root'); return; }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refprobe-full-'));
  const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { reject: false });
  if (mounted.exitCode !== 0) { t.plan(0, `cannot mount a tmpfs here: ${mounted.stderr}`); return; }
  try {
    // Leave 12 KiB: the run directory and the first console lines fit, the report does not.
    await writeFile(path.join(dir, 'filler'), Buffer.alloc(52 * 1024));
    const r = await vmTest(['--out', dir, '--smp', '2', '--scenario', 'lifecycle', '--scenario', 'extremes']);
    t.equal(r.exitCode, 0, `the run passed, and says so with its status\n${r.stderr.slice(-3000)}`);
    t.match(r.stderr, /vm-test: PASS: 2 scenarios matched the model/, 'the verdict reaches the terminal');
    t.match(r.stderr, /could not write \S+: no space left on the device \(ENOSPC\)/);
    t.match(r.stderr, /output file\(s\) could not be written: .*The verdict above is the run's own \(exit 0\)/);
    t.notMatch(r.stderr, /internal error/);
    const left = (await readdir(dir, { recursive: true })).map(String);
    t.notOk(left.some((f) => /\.tmp-\d+$/.test(f)), 'no temp file left behind');
    for (const f of left.filter((x) => x.endsWith('report.json'))) t.doesNotThrow(() => JSON.parse(readFileSync(path.join(dir, f), 'utf8')), `${f} is whole or absent, never cut`);
  } finally {
    await execa('umount', [dir], { reject: false });
    await rm(dir, { recursive: true, force: true });
  }
  t.same(await strayQemus(), []);
});

t.test('output paths are checked before the VM starts', async (t) => {
  const r = await vmTest(['--out', '/proc/version', '--smp', '2', '--scenario', 'lifecycle']);
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /--out \/proc\/version cannot be written/);
  t.notMatch(r.stderr, /vm-test: boot:|internal error/, 'refused before any boot, in one line with a fix');
});

t.test('a damaged cache: each damaged entry named, removed and built again, and the verdict right', async (t) => {
  const cache = await mkdtemp(path.join(os.tmpdir(), 'refprobe-damaged-cache-'));
  t.teardown(() => rm(cache, { recursive: true, force: true }));
  const env = { REFPROBE_CACHE_DIR: cache };
  const args = ['--smp', '2', '--scenario', 'hold-put-every-cpu', '--scenario', 'lifecycle'];
  const first = await vmTest(args, 600_000, env);
  t.equal(first.exitCode, 0, `a clean cache of its own: the run passes\n${first.stderr.slice(-2000)}`);
  const entry = async (kind: string, file: string): Promise<string> => {
    const keys = (await readdir(path.join(cache, kind))).filter((k) => !k.startsWith('.'));
    const newest = (await Promise.all(keys.map(async (k) => ({ k, at: (await stat(path.join(cache, kind, k))).mtimeMs })))).sort((a, b) => b.at - a.at)[0];
    return path.join(cache, kind, newest?.k ?? 'none', file);
  };
  const named = (stderr: string, kind: string, what: RegExp): void => {
    t.match(stderr, new RegExp(`cache: ${cache}/${kind}/\\w+ is damaged \\(${what.source}.*\\); removing it and building it again`), `${kind}: named, with what is wrong`);
  };
  // What the issue measured: two bytes of the module (wrong readings), the vmlinux cut (no boot), the agent gone (ENOENT).
  const ko = await entry('kmod', 'refprobe.ko');
  const bytes = await readFile(ko);
  for (const i of [bytes.length >> 1, (bytes.length >> 1) + 1]) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
  await writeFile(ko, bytes);
  const vmlinux = await entry('vmlinux', 'vmlinux');
  await writeFile(vmlinux, (await readFile(vmlinux)).subarray(0, 65536));
  await rm(await entry('refprobe-agent', 'refprobe-agent'));
  const second = await vmTest(args, 600_000, env);
  t.equal(second.exitCode, 0, `the damaged entries rebuilt: the correct kernel passes\n${second.stderr.slice(-3000)}`);
  named(second.stderr, 'kmod', /refprobe\.ko has the size it was written with but other content/);
  named(second.stderr, 'vmlinux', /vmlinux is 65536 bytes/);
  named(second.stderr, 'refprobe-agent', /refprobe-agent is missing/);
  // The initramfs on its own (a rebuilt module is another initramfs key): cut, it would not mount a root.
  const initrd = await entry('initramfs', 'initramfs.cpio.gz');
  await writeFile(initrd, (await readFile(initrd)).subarray(0, 4096));
  const cut = await vmTest(args, 600_000, env);
  t.equal(cut.exitCode, 0, `the cut initramfs rebuilt: the run passes\n${cut.stderr.slice(-3000)}`);
  named(cut.stderr, 'initramfs', /initramfs\.cpio\.gz is 4096 bytes/);
  const third = await vmTest(args, 600_000, env);
  t.equal(third.exitCode, 0);
  t.notMatch(third.stderr, /is damaged/, 'healed: the next run finds nothing wrong');
});
