/**
 * A real Debian 12 system to run the suite on over SSH, as on a machine in
 * a lab: built here from Debian's packages with mmdebstrap (systemd,
 * openssh-server, Debian's own kernel and headers, gcc, make), cached by
 * its recipe. The entry keeps the ext4 disk image, the kernel and initrd
 * to boot it with, the SSH keys (the machine's host key, pinned in a
 * known_hosts; root's login key) and a copy of the headers' kbuild tree, so
 * the module can also be built here ("built elsewhere, copied over").
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile, cp } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, cacheRoot, hashOf } from '../../src/cache/cache.js';
import { HarnessError } from '../../src/errors.js';

export const DEBIAN_PACKAGES = [
  'systemd-sysv',
  'udev',
  'openssh-server',
  'linux-image-amd64',
  'linux-headers-amd64',
  'gcc',
  'make',
  'kmod',
  'iproute2',
  'procps',
];

const MIRRORS = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
];

/** Bumped when the recipe changes in a way the lists above do not show. */
const RECIPE = 'debian-image/1';
const IMAGE_SIZE = '3G';

export interface DebianImage {
  dir: string;
  /** The ext4 root file system (boot it with snapshot=on: it stays as built). */
  disk: string;
  kernel: string;
  initrd: string;
  release: string;
  /** root's private key (its public half is in the image's authorized_keys). */
  identity: string;
  /** The machine's host public key, one line of known_hosts without the host. */
  hostKey: string;
  /** The headers' kbuild tree, made usable here (/lib/modules/RELEASE/build there). */
  kbuild: string;
  cached: boolean;
}

/** The known_hosts line for the image reached at 127.0.0.1:port. */
export function knownHostsLine(img: Pick<DebianImage, 'hostKey'>, port: number): string {
  return `[127.0.0.1]:${port} ${img.hostKey}\n`;
}

async function run(cmd: string, args: string[], what: string, timeoutMs: number, progress: (l: string) => void, signal?: AbortSignal): Promise<void> {
  const r = await execa(cmd, args, { all: true, reject: false, timeout: timeoutMs, ...(signal ? { cancelSignal: signal } : {}) });
  if (r.failed) {
    const tail = (r.all ?? '').split('\n').slice(-20).join('\n');
    progress(`debian image: ${what} failed`);
    throw new HarnessError(`building the Debian image: ${what} failed (${(r.shortMessage ?? '').split('\n')[0]})`, "check that Debian's mirror is reachable (apt-get update) and mmdebstrap is installed (apt-get install mmdebstrap)", tail);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One builder at a time: make test starts the build in the background
 * while the other suites run, and the SSH suite waits for it here rather
 * than build it twice. A builder that died leaves its lock to the next.
 */
export async function builderLock(lock: string, entry: string, progress: (l: string) => void): Promise<boolean> {
  await mkdir(path.dirname(lock), { recursive: true });
  for (let said = false; ; ) {
    if (existsSync(entry)) return false;
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(await readFile(lock, 'utf8').catch(() => '0'));
    if (!pid || !alive(pid)) {
      await rm(lock, { force: true });
      continue;
    }
    if (!said) progress(`debian image: waiting for process ${pid}, which is building it`);
    said = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export async function debianImage(progress: (l: string) => void, signal?: AbortSignal): Promise<DebianImage> {
  const key = hashOf(RECIPE, ...DEBIAN_PACKAGES, ...MIRRORS, IMAGE_SIZE);
  const t = performance.now();
  const lock = path.join(cacheRoot(), 'debian-image', `${key}.lock`);
  const locked = await builderLock(lock, path.join(cacheRoot(), 'debian-image', key), progress);
  const { dir, hit } = await cachedDir('debian-image', key, async (tmp) => {
    progress(`debian image: building ${path.join(path.dirname(tmp), key)} with mmdebstrap (${DEBIAN_PACKAGES.join(', ')}): a few minutes, once`);
    const keys = path.join(tmp, 'keys');
    await run('mkdir', ['-p', keys], 'mkdir', 10_000, progress);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'refprobe-test-login', '-f', path.join(keys, 'id_ed25519')], 'ssh-keygen', 30_000, progress);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'refprobe-debian-host', '-f', path.join(keys, 'ssh_host_ed25519_key')], 'ssh-keygen', 30_000, progress);
    const root = path.join(tmp, 'root');
    // The hooks run on the host with the root file system as $1.
    const hooks = [
      'echo refprobe-debian > "$1/etc/hostname"',
      `mkdir -p -m 700 "$1/root/.ssh" && cp ${keys}/id_ed25519.pub "$1/root/.ssh/authorized_keys"`,
      // A host key made here, so the test can pin it: StrictHostKeyChecking stays on.
      `rm -f "$1"/etc/ssh/ssh_host_*; cp ${keys}/ssh_host_ed25519_key ${keys}/ssh_host_ed25519_key.pub "$1/etc/ssh/" && chmod 600 "$1/etc/ssh/ssh_host_ed25519_key"`,
      'printf "[Match]\\nName=en*\\n\\n[Network]\\nDHCP=yes\\n" > "$1/etc/systemd/network/80-dhcp.network" && chroot "$1" systemctl enable systemd-networkd',
    ];
    await run(
      'mmdebstrap',
      ['--mode=root', '--variant=minbase', `--include=${DEBIAN_PACKAGES.join(',')}`, ...hooks.map((h) => `--customize-hook=${h}`), 'bookworm', root, ...MIRRORS],
      'mmdebstrap',
      30 * 60_000,
      progress,
      signal,
    );
    const boot = await readdir(path.join(root, 'boot'));
    const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new HarnessError('building the Debian image: no kernel in its /boot', 'check that linux-image-amd64 installed (the mmdebstrap log)');
    const release = vmlinuz.slice('vmlinuz-'.length);
    await cp(path.join(root, 'boot', vmlinuz), path.join(tmp, 'vmlinuz'));
    await cp(path.join(root, 'boot', `initrd.img-${release}`), path.join(tmp, 'initrd.img'));
    await copyKbuild(root, path.join(tmp, 'kbuild'), release);
    await run('mkfs.ext4', ['-q', '-F', '-L', 'refprobe-root', '-d', root, path.join(tmp, 'disk.ext4'), IMAGE_SIZE], 'mkfs.ext4', 10 * 60_000, progress);
    await rm(root, { recursive: true, force: true });
    await writeFile(path.join(tmp, 'image.json'), `${JSON.stringify({ release, packages: DEBIAN_PACKAGES, mirrors: MIRRORS, built: new Date().toISOString() }, null, 2)}\n`);
  }).finally(() => (locked ? rm(lock, { force: true }) : undefined));
  const meta = JSON.parse(await readFile(path.join(dir, 'image.json'), 'utf8')) as { release: string };
  if (!hit) progress(`debian image: built in ${((performance.now() - t) / 1000).toFixed(0)} s (${meta.release})`);
  const hostPub = (await readFile(path.join(dir, 'keys', 'ssh_host_ed25519_key.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  return {
    dir,
    disk: path.join(dir, 'disk.ext4'),
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    release: meta.release,
    identity: path.join(dir, 'keys', 'id_ed25519'),
    hostKey: hostPub,
    kbuild: path.join(dir, 'kbuild', 'usr', 'src', `linux-headers-${meta.release}`),
    cached: hit,
  };
}

/**
 * Debian splits the kbuild tree in three (the flavour's headers, the common
 * headers, the kbuild tools) joined by relative links, except the
 * flavour's Makefile, which includes the common one by absolute path: made
 * relative here (make -C enters the flavour's directory).
 */
async function copyKbuild(root: string, to: string, release: string): Promise<void> {
  await cp(path.join(root, 'usr', 'src'), path.join(to, 'usr', 'src'), { recursive: true, verbatimSymlinks: true });
  for (const d of (await readdir(path.join(root, 'usr', 'lib'))).filter((n) => n.startsWith('linux-kbuild-'))) {
    await cp(path.join(root, 'usr', 'lib', d), path.join(to, 'usr', 'lib', d), { recursive: true, verbatimSymlinks: true });
  }
  const mk = path.join(to, 'usr', 'src', `linux-headers-${release}`, 'Makefile');
  const text = await readFile(mk, 'utf8');
  await writeFile(mk, text.replace(/^include \/usr\/src\//m, 'include ../'));
}
