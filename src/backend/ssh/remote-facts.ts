/**
 * What the harness must know about a running machine before it loads
 * anything there, read in one command (FACTS_SCRIPT), and what stops a run
 * (pure): not root, modules disabled or locked down, signatures enforced,
 * no debugfs, a kernel an oops already tainted, nothing to build the
 * module with. (A module of the same name already loaded is checked once
 * the run holds the machine: ssh-target.ts, prepare.)
 */
import { HarnessError } from '../../errors.js';

/** Prints KEY=VALUE lines; every probe may fail and print an empty value. */
export const FACTS_SCRIPT = [
  'echo "uid=$(id -u)"',
  'echo "release=$(uname -r)"',
  'echo "banner=$(cat /proc/version)"',
  'echo "arch=$(uname -m)"',
  'echo "tainted=$(cat /proc/sys/kernel/tainted 2>/dev/null)"',
  'echo "modules_disabled=$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)"',
  'echo "lockdown=$(cat /sys/kernel/security/lockdown 2>/dev/null)"',
  'echo "sig_enforce=$(cat /sys/module/module/parameters/sig_enforce 2>/dev/null)"',
  'echo "debugfs_mounted=$(grep -c "^[^ ]* /sys/kernel/debug debugfs " /proc/mounts)"',
  'echo "debugfs_known=$(grep -c "[[:space:]]debugfs$" /proc/filesystems)"',
  'echo "possible=$(cat /sys/devices/system/cpu/possible)"',
  'echo "present=$(cat /sys/devices/system/cpu/present)"',
  'echo "online=$(cat /sys/devices/system/cpu/online)"',
  'echo "kbuild=$(test -f /lib/modules/$(uname -r)/build/Makefile && echo /lib/modules/$(uname -r)/build)"',
  'echo "gcc=$(command -v gcc)"',
  'echo "make=$(command -v make)"',
  'echo "bash=$(command -v bash)"',
  'echo "base64=$(command -v base64)"',
  'echo "insmod=$(command -v insmod)"',
].join('\n');

export interface RemoteFacts {
  uid: number;
  release: string;
  /** /proc/version: the same line as the boot banner. */
  banner: string;
  arch: string;
  tainted: number;
  modulesDisabled: boolean;
  /** The active lockdown mode: none, integrity, confidentiality (null: no lockdown LSM). */
  lockdown: string | null;
  sigEnforce: boolean;
  debugfsMounted: boolean;
  debugfsKnown: boolean;
  possible: string;
  present: string;
  online: string;
  /** /lib/modules/RELEASE/build when it is a kbuild tree. */
  kbuild: string | null;
  gcc: boolean;
  make: boolean;
  bash: boolean;
  base64: boolean;
  insmod: boolean;
}

export function parseFacts(text: string): RemoteFacts {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const get = (k: string): string => kv.get(k) ?? '';
  if (!get('release') || !/^\d+$/.test(get('uid'))) throw new Error(`the machine's facts could not be read: ${JSON.stringify(text.slice(0, 300))}`);
  const mode = /\[(\w+)\]/.exec(get('lockdown'));
  return {
    uid: Number(get('uid')),
    release: get('release'),
    banner: get('banner'),
    arch: get('arch'),
    tainted: Number(get('tainted') || '0'),
    modulesDisabled: get('modules_disabled') === '1',
    lockdown: mode ? (mode[1] ?? null) : null,
    sigEnforce: get('sig_enforce') === 'Y',
    debugfsMounted: Number(get('debugfs_mounted') || '0') > 0,
    debugfsKnown: Number(get('debugfs_known') || '0') > 0,
    possible: get('possible'),
    present: get('present'),
    online: get('online'),
    kbuild: get('kbuild') || null,
    gcc: get('gcc') !== '',
    make: get('make') !== '',
    bash: get('bash') !== '',
    base64: get('base64') !== '',
    insmod: get('insmod') !== '',
  };
}

/** The kernel's taint flags, bit by bit (Documentation/admin-guide/tainted-kernels.rst). */
const TAINT = 'PFSRMBUDAWCIOELKXTN';

export function taintFlags(tainted: number): string {
  return [...TAINT].filter((_, bit) => (tainted & (1 << bit)) !== 0).join('');
}

/** Bit 7, D: the kernel died (an oops or a BUG) since it booted. */
export const TAINT_DIE = 1 << 7;

export interface RemoteChoices {
  where: string;
  /** The module is built here against this kbuild tree (--kdir), else on the machine. */
  kdirHere: string | null;
  allowTainted: boolean;
}

/** The first reason the run cannot go on, as a HarnessError with its fix; null when none. */
export function remoteProblem(f: RemoteFacts, c: RemoteChoices): HarnessError | null {
  const at = c.where;
  if (f.uid !== 0) return new HarnessError(`refprobe needs root on ${at} (insmod, debugfs, CPU online files); the login there is uid ${f.uid}`, 'log in as root: --target ssh://root@HOST');
  const missing = (['bash', 'base64', 'insmod'] as const).filter((k) => !f[k]);
  if (missing.length) return new HarnessError(`${at} lacks ${missing.join(', ')}, which the harness's agent uses there`, `install them there (Debian: apt-get install bash coreutils kmod)`);
  if (f.modulesDisabled) return new HarnessError(`${at} loads no more modules (kernel.modules_disabled=1)`, 'reboot it: the setting cannot be undone while it runs');
  if (f.lockdown && f.lockdown !== 'none') {
    return new HarnessError(
      `the kernel of ${at} is locked down (${f.lockdown}): it refuses unsigned modules and keeps debugfs closed`,
      'turn Secure Boot off in the firmware (or boot with lockdown=none where the distribution allows it), then run again',
    );
  }
  if (f.sigEnforce) {
    return new HarnessError(
      `${at} enforces module signatures (module.sig_enforce=Y): refprobe.ko is unsigned and would be refused`,
      'boot it without module.sig_enforce=1 (and with Secure Boot off), then run again',
    );
  }
  if (!f.debugfsKnown) return new HarnessError(`the kernel of ${at} has no debugfs, which refprobe answers through`, 'boot a kernel built with CONFIG_DEBUG_FS=y');
  if (!f.debugfsMounted) return new HarnessError(`debugfs is not mounted on ${at}`, `mount it there: mount -t debugfs none /sys/kernel/debug`);
  if ((f.tainted & TAINT_DIE) !== 0 && !c.allowTainted) {
    return new HarnessError(
      `the kernel of ${at} is already tainted by an oops (taint ${f.tainted}: ${taintFlags(f.tainted)}): a complaint in this run could be that one's aftermath`,
      'reboot it, or pass --allow-tainted to run anyway',
    );
  }
  if (c.kdirHere === null) {
    const lacks = [!f.kbuild && `a kbuild tree at /lib/modules/${f.release}/build`, !f.gcc && 'gcc', !f.make && 'make'].filter(Boolean);
    if (lacks.length) {
      return new HarnessError(
        `refprobe cannot be built on ${at}: it lacks ${lacks.join(', ')}`,
        `install them there (Debian: apt-get install gcc make linux-headers-${f.release}), or build here: --kdir with the kbuild tree of ${f.release}`,
      );
    }
  } else if (f.arch !== 'x86_64') {
    return new HarnessError(`${at} is ${f.arch}: a module built here (x86_64) cannot load there`, 'build it on the machine: leave out --kdir');
  }
  return null;
}
