/**
 * Boots the Debian image (debian-image.ts) in QEMU as a machine reached
 * only over SSH: its port 22 forwarded to a free port on 127.0.0.1 and
 * nowhere else, its disk a snapshot (every boot starts from the image as
 * built). Resolves once sshd answers with the pinned host key.
 */
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../../src/errors.js';
import { chooseAccel, type AccelChoice } from '../../src/backend/qemu/accel.js';
import { knownHostsLine, type DebianImage } from './debian-image.js';
import { QemuProcess } from '../../src/backend/qemu/qemu.js';
import { scratchDir } from '../../src/cache/scratch.js';

export interface DebianVmOptions {
  image: DebianImage;
  qemu: string;
  accel: AccelChoice;
  cpus: number;
  memoryMb: number;
  consoleLog: string;
  bootTimeoutSec: number;
  /**
   * A second serial port (ttyS1 in the guest) connected to this socket, as
   * the harness's own guests have: the same agent can be reached both ways
   * on one machine (the SSH test compares their round trips).
   */
  channelSocket?: string;
  progress: (l: string) => void;
}

export interface DebianVm {
  port: number;
  /** ssh://root@127.0.0.1:PORT */
  url: string;
  identity: string;
  /** A known_hosts file with the machine's key for 127.0.0.1:PORT. */
  knownHosts: string;
  /** The ssh -o options that pin that key. */
  sshOptions: string[];
  qemu: QemuProcess;
  bootMs: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function bootDebianVm(o: DebianVmOptions): Promise<DebianVm> {
  const t = performance.now();
  const tmp = await scratchDir('refprobe-debian');
  const port = await freePort();
  const knownHosts = path.join(tmp, 'known_hosts');
  await writeFile(knownHosts, knownHostsLine(o.image, port));
  const accel = await chooseAccel(o.accel, o.qemu);
  const args = [
    '-machine', 'pc',
    ...(accel.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
    '-smp', String(o.cpus),
    '-m', String(o.memoryMb),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-serial', 'stdio',
    '-kernel', o.image.kernel,
    '-initrd', o.image.initrd,
    '-append', 'root=/dev/vda rw console=ttyS0 panic=-1',
    '-drive', `file=${o.image.disk},format=raw,if=virtio,snapshot=on`,
    // Reachable from this host's loopback only.
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`,
    '-device', 'virtio-net-pci,netdev=n0',
    ...(o.channelSocket ? ['-chardev', `socket,id=channel,path=${o.channelSocket}`, '-device', 'isa-serial,chardev=channel,index=1'] : []),
  ];
  o.progress(`debian vm: booting ${o.image.release} (${accel.accel}, ${o.cpus} CPUs, ${o.memoryMb} MiB), ssh on 127.0.0.1:${port}; console -> ${o.consoleLog}`);
  const qemu = new QemuProcess(o.qemu, args, o.consoleLog, () => undefined);
  const sshOptions = [`UserKnownHostsFile=${knownHosts}`, 'StrictHostKeyChecking=yes'];
  const stop = async (): Promise<void> => {
    await qemu.stop(0);
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + o.bootTimeoutSec * 1000;
    for (;;) {
      if (!qemu.running) throw new HarnessError(`the Debian VM stopped while booting (console: ${o.consoleLog})`, 'read the console log');
      const r = await execa('ssh', [...sshOptions.flatMap((x) => ['-o', x]), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', '-i', o.image.identity, '-p', String(port), 'root@127.0.0.1', 'true'], {
        reject: false,
        timeout: 10_000,
      });
      if (r.exitCode === 0) break;
      if (Date.now() > deadline) throw new HarnessError(`the Debian VM's sshd did not answer within ${o.bootTimeoutSec} s (last: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''})`, `read its console: ${o.consoleLog}`);
      await new Promise((r2) => setTimeout(r2, 1000));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const bootMs = Math.round(performance.now() - t);
  o.progress(`debian vm: sshd answers after ${(bootMs / 1000).toFixed(1)} s`);
  return { port, url: `ssh://root@127.0.0.1:${port}`, identity: o.image.identity, knownHosts, sshOptions, qemu, bootMs, stop };
}
