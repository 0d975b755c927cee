/**
 * The SSH backend: a running machine made ready for the scenarios, as the
 * QEMU backend boots a guest: connect, read the machine and refuse what
 * cannot work (remote-facts.ts), open the kernel log as the console, get
 * refprobe.ko for the running kernel (built here against --kdir, or on the
 * machine against its own headers; vermagic checked before loading). Its
 * close() unloads the module, brings back CPUs a scenario took offline
 * and removes the run's directory, on a new connection if the first was
 * lost. Nothing is known before it connects: prepare() has nothing to do.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../../errors.js';
import { MODULE_NAME, buildModule, sources } from '../../module/build.js';
import { vermagicRelease } from '../../module/vermagic.js';
import { kernelVersion, rulesFor } from '../../model/release-rules.js';
import type { Backend, GuestFacts, OpenContext, OpenedGuest } from '../backend.js';
import { remoteProblem, taintFlags, type RemoteFacts } from './remote-facts.js';
import { shq, type SshSettings } from './ssh-args.js';
import { SshTarget } from './ssh-target.js';

/** How to reach the machine and what the run may do there. */
export interface RemoteSettings {
  ssh: Omit<SshSettings, 'controlPath'>;
  /** Build the module here against this kbuild tree; null: build it on the machine. */
  kdirHere: string | null;
  allowCpuOffline: boolean;
  allowTainted: boolean;
}

export const CPU_OFFLINE_REFUSED = 'takes a CPU offline, which a run on a real machine does only with --allow-cpu-offline (every CPU it takes offline is brought back)';

/** The run's stable name for a machine: ssh-HOST[-PORT]. */
export function remoteLabel(remote: RemoteSettings): string {
  return `ssh-${remote.ssh.dest.host}${remote.ssh.dest.port ? `-${remote.ssh.dest.port}` : ''}`;
}

function since(t: number): number {
  return Math.round(performance.now() - t);
}

export function sshBackend(remote: RemoteSettings): Backend {
  return {
    kind: 'ssh',
    emulator: null,
    prepare: async () => null,
    open: (ctx) => connectRemote(remote, ctx),
  };
}

async function connectRemote(remote: RemoteSettings, o: OpenContext): Promise<OpenedGuest> {
  const t0 = performance.now();
  const target = await SshTarget.connect({
    ssh: remote.ssh,
    consoleLog: o.consoleLog,
    onConsoleLine: o.onConsoleLine,
    defaultTimeoutMs: o.commandTimeoutSec * 1000,
    agentScript: await readFile(path.join(o.repoRoot, 'vm/guest/agent.sh'), 'utf8'),
    agentIdleSec: Math.max(60, o.commandTimeoutSec * 2),
    cpuOfflineRefused: remote.allowCpuOffline ? null : CPU_OFFLINE_REFUSED,
    progress: o.progress,
  });
  const close = async (): Promise<void> => {
    await target.close();
    for (const l of target.leftBehind) o.progress(`ssh: NOT CLEANED UP: ${l}`);
  };
  // Until the run holds the machine, an abort is this function's to act on: the clean-up ends whatever is in flight.
  const onAbort = (): void => void close();
  o.signal?.addEventListener('abort', onAbort);
  const step = (): void => {
    if (o.signal?.aborted) throw new Error('interrupted while connecting');
  };
  try {
    step();
    const f = target.facts as RemoteFacts;
    o.progress(`ssh: ${target.where}: Linux ${f.release} ${f.arch}, CPUs possible ${f.possible}, present ${f.present}, online ${f.online}, taint ${f.tainted}${f.tainted ? ` (${taintFlags(f.tainted)})` : ''}`);
    const problem = remoteProblem(f, { where: target.where, kdirHere: remote.kdirHere, allowTainted: remote.allowTainted });
    if (problem) throw problem;
    await target.prepare();
    step();
    o.progress(`ssh: ${target.where} is this run's (its directory ${target.remoteDir}); kernel log -> ${o.consoleLog}`);
    const t = performance.now();
    const ko = `${target.remoteDir}/${MODULE_NAME}.ko`;
    const built = remote.kdirHere ? await buildHere(target, remote.kdirHere, f, ko, o) : await buildThere(target, f, ko, o);
    const buildMs = since(t);
    step();
    // After the build: the agent gives up after its idle time, and a build on the machine may take longer.
    await target.startAgent(o.bootTimeoutSec * 1000);
    // Registered before the run loads it: whatever happens from here, the clean-up unloads it (the facts said none was loaded, and the machine's lock keeps other runs out).
    target.addCleanup(`timeout 60 rmmod ${MODULE_NAME}`);
    const facts: GuestFacts = {
      kernel: { image: `the running kernel of ${target.where}`, kdir: built.where, release: f.release, banner: f.banner },
      kernelTree: null,
      module: { vermagic: built.vermagic, cached: false },
      rules: rulesFor(kernelVersion(f.release, f.banner)),
      boot: null,
      initramfs: null,
      accel: null,
      buildMs,
      initramfsMs: null,
    };
    const moduleRefused = (why: string): Error =>
      new HarnessError(
        `the kernel of ${target.where} refused the module: ${why.split('\n')[0]?.replace(/^the kernel refused the module: /, '')}`,
        'read its log (dmesg) there; a module signature or lockdown refusal means Secure Boot is on (turn it off, or boot with module.sig_enforce=0)',
      );
    return { target, modulePath: ko, moduleRefused, facts, bootMs: since(t0) - buildMs, close };
  } catch (e) {
    await close();
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

async function buildHere(target: SshTarget, kdir: string, f: RemoteFacts, ko: string, o: OpenContext): Promise<{ where: string; vermagic: string }> {
  // buildModule refuses a module whose vermagic names another release than the machine's.
  const m = await buildModule({ release: f.release, kdir }, path.join(o.repoRoot, 'kmod'));
  o.progress(`module: ${m.cached ? 'cached' : 'built'} here against ${kdir} (${m.vermagic}); copying it to ${target.where}`);
  await target.upload(ko, await readFile(m.ko));
  return { where: `here against ${kdir}`, vermagic: m.vermagic };
}

/** Copies kmod/'s sources to the run's directory and builds them there against the running kernel's headers. */
async function buildThere(target: SshTarget, f: RemoteFacts, ko: string, o: OpenContext): Promise<{ where: string; vermagic: string }> {
  const dir = `${target.remoteDir}/kmod`;
  const files = await sources(path.join(o.repoRoot, 'kmod'));
  const script = [`mkdir -p ${shq(dir)}`, ...files.map((s) => `base64 -d > ${shq(`${dir}/${s.name}`)} <<'RP_EOF'\n${s.data.toString('base64')}\nRP_EOF`)].join('\n');
  const up = await target.exec(script, { timeoutMs: 60_000 });
  if (up.exitCode !== 0) throw new HarnessError(`copying kmod/ to ${target.where} failed: ${up.stderr.trim()}`, 'check the free space in /tmp there');
  const kbuild = f.kbuild as string;
  o.progress(`module: building on ${target.where} against ${kbuild}`);
  // timeout(1) there too: a build the harness gave up on must not go on under a removed directory.
  const b = await target.exec(`timeout -k 5 590 make -C ${shq(kbuild)} M=${shq(dir)} modules 2>&1 && cp ${shq(`${dir}/${MODULE_NAME}.ko`)} ${shq(ko)} && modinfo -F vermagic ${shq(ko)}`, { timeoutMs: 600_000 });
  if (b.exitCode !== 0) {
    throw new HarnessError(
      `building the module on ${target.where} against ${kbuild} failed (exit ${b.exitCode})`,
      `check that ${kbuild} is the kbuild tree of the running kernel (Debian: apt-get install linux-headers-${f.release}), or build here with --kdir`,
      `${b.stdout.trim().split('\n').slice(-25).join('\n')}\n${b.stderr.trim()}`,
    );
  }
  const vermagic = b.stdout.trim().split('\n').slice(-1)[0] ?? '';
  if (vermagicRelease(vermagic) !== f.release) {
    throw new HarnessError(`the module built on ${target.where} is for ${vermagicRelease(vermagic)} but the kernel there is ${f.release}`, `point /lib/modules/${f.release}/build at that kernel's headers, or build here with --kdir`);
  }
  return { where: `on the machine against ${kbuild}`, vermagic };
}
