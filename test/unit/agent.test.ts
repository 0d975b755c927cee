/**
 * The two command agents speak one protocol: vm/guest/agent.c (QEMU guests) and
 * vm/guest/agent.sh (over SSH, in bash; busybox sh too). Each is run here on the
 * host, on pipes, behind the harness's real AgentChannel, and must give
 * the same answers to the same requests: what the scenarios rely on.
 * Nothing here touches more than a temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildAgent } from '../../src/initramfs/static-program.js';
import { AgentChannel } from '../../src/backend/agent/agent-channel.js';
import { TargetError } from '../../src/backend/target.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Running {
  channel: AgentChannel;
  child: ChildProcess;
  exit: Promise<number | null>;
  /** Raw bytes to the agent, bypassing the channel's encoding. */
  raw: (s: string) => void;
}

function start(argv: string[], timeoutMs = 10_000): Running {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const channel = new AgentChannel(timeoutMs);
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => channel.push(c));
  channel.attach((line) => child.stdin?.write(line));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    channel.fail(new TargetError('guest-died', `agent exited ${code}`));
    resolve(code);
  }));
  return { channel, child, exit, raw: (s) => child.stdin?.write(s) };
}

async function agents(): Promise<{ name: string; argv: (idle: number, dir: string) => string[] }[]> {
  const bin = await buildAgent(repoRoot);
  const sh = path.join(repoRoot, 'vm/guest/agent.sh');
  const list = [
    { name: 'vm/guest/agent.c', argv: (idle: number, dir: string) => [bin, String(idle), dir] },
    { name: 'vm/guest/agent.sh in bash', argv: (idle: number, dir: string) => ['bash', '-c', `. ${sh}; agent_loop ${idle} ${dir} bash`] },
  ];
  if (existsSync('/bin/busybox')) list.push({ name: 'vm/guest/agent.sh in busybox sh', argv: (idle, dir) => ['/bin/busybox', 'sh', '-c', `. ${sh}; agent_loop ${idle} ${dir}`] });
  return list;
}

t.test('both agents answer alike: writes, reads, scripts, errors', async (t) => {
  for (const a of await agents()) {
    await t.test(a.name, async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'rp-agent-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      const ag = start(a.argv(30, dir));
      t.teardown(() => ag.child.kill('SIGKILL'));
      await ag.channel.waitReady(10_000, a.name);
      const file = path.join(dir, 'ctl');

      const w = await ag.channel.write(file, 'hold rp0 1 3');
      t.same(w, { exitCode: 0, stdout: '', stderr: '' }, 'W: one line written');
      t.equal(await readFile(file, 'utf8'), 'hold rp0 1 3\n', 'W: the text and a newline, the file truncated');
      await ag.channel.write(file, 'x');
      t.equal(await readFile(file, 'utf8'), 'x\n', 'W again: truncated, not appended');

      await writeFile(file, 'a b\n\n  indented  \nlast without newline');
      t.same(await ag.channel.read(file), { exitCode: 0, stdout: 'a b\n\n  indented  \nlast without newline\n', stderr: '' }, 'R: every line, blanks kept, a last partial line too');

      const missing = await ag.channel.read(path.join(dir, 'nope'));
      t.equal(missing.exitCode, 1, 'R of a missing file: status 1');
      t.match(missing.stderr, /nope.*no such file/i, 'R of a missing file: says which and why');

      const full = await ag.channel.write('/dev/full', 'x');
      t.equal(full.exitCode, 1, 'W that fails: status 1');
      t.match(full.stderr, /write error: No space left on device/, 'W that fails: the words RefProbe.ctl reads the errno from');

      const nodir = await ag.channel.write(path.join(dir, 'no/such'), 'x');
      t.equal(nodir.exitCode, 1, 'W to a missing directory: status 1');
      t.match(nodir.stderr, /no\/such: (no such file|nonexistent directory)/i, 'W to a missing directory: says which and why');

      const s = await ag.channel.run('echo out; echo err >&2; exit 3');
      t.same(s, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' }, 'a script: output, errors and status apart');
      const big = await ag.channel.run('i=0; while [ $i -lt 3000 ]; do echo "line $i of a long output"; i=$((i + 1)); done');
      t.equal(big.stdout.split('\n').length, 3001, 'a script with 70 KB of output comes back whole');
      const killed = await ag.channel.run('kill -9 $$');
      t.equal(killed.exitCode, 137, 'a script killed by a signal: 128 + the signal');
      t.same(await ag.channel.run('cat'), { exitCode: 0, stdout: '', stderr: '' }, "a script's stdin is empty, not the channel");

      // Requests padded with blanks are the same requests (the answers to these ids are ignored).
      ag.raw(`900 W ${file} padded   \n`);
      ag.raw(`901 R ${file}    \n`);
      t.equal((await ag.channel.run('true')).exitCode, 0, 'the agent goes on after them');
      t.equal(await readFile(file, 'utf8'), 'padded\n', 'trailing blanks are not part of the text');

      ag.raw('@@QUIT\n');
      t.equal(await ag.exit, 0, '@@QUIT: exit 0');
    });
  }
});

t.test('both agents give up after their idle time, with status 1', async (t) => {
  for (const a of await agents()) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rp-agent-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const ag = start(a.argv(1, dir));
    await ag.channel.waitReady(10_000, a.name);
    const t0 = Date.now();
    const code = await ag.exit;
    t.equal(code, 1, `${a.name}: status 1 when idle`);
    t.ok(Date.now() - t0 < 5000, `${a.name}: within a few seconds of its 1 s`);
  }
});

t.test('the C agent refuses a file over 16 MiB rather than cutting it short', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rp-agent-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const big = path.join(dir, 'big');
  await writeFile(big, Buffer.alloc(17 << 20, 0x61));
  const ag = start([await buildAgent(repoRoot), '30', dir]);
  t.teardown(() => ag.child.kill('SIGKILL'));
  await ag.channel.waitReady(10_000, 'refprobe-agent');
  const r = await ag.channel.read(big);
  t.equal(r.exitCode, 1);
  t.equal(r.stdout, '', 'no part of it');
  t.match(r.stderr, /big: File too large/);
});

t.test('the C agent refuses a bad command line', async (t) => {
  const bin = await buildAgent(repoRoot);
  for (const args of [[], ['x', '/tmp'], ['0', '/tmp'], ['5']]) {
    const ag = start([bin, ...args]);
    t.equal(await ag.exit, 2, `refprobe-agent ${args.join(' ')}: status 2`);
  }
});
