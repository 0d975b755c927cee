/**
 * Kernel config fragments (vm/kernel-config/*.config) and the check that a
 * generated .config really has what they asked for. Kconfig drops an option
 * silently when a dependency is missing (NET_DEV_REFCNT_TRACKER without
 * DEBUG_KERNEL, PVH without HYPERVISOR_GUEST), and a variant built without
 * its option would test the wrong mechanism, so every request is verified,
 * as kunit_tool does. Pure.
 */

/** Option name -> value ('y', 'm', '64', '"text"', or 'n' for "is not set"). */
export type KconfigOptions = Map<string, string>;

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

export function parseKconfig(text: string): KconfigOptions {
  const opts: KconfigOptions = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = SET.exec(line);
    if (set) opts.set(set[1] as string, set[2] as string);
    const unset = UNSET.exec(line);
    if (unset) opts.set(unset[1] as string, 'n');
  }
  return opts;
}

export interface ConfigMismatch {
  option: string;
  wanted: string;
  got: string;
}

/** The requested options the generated config does not have, with what it has instead. */
export function unmetOptions(requested: ReadonlyMap<string, string>, dotconfig: KconfigOptions): ConfigMismatch[] {
  const out: ConfigMismatch[] = [];
  for (const [option, wanted] of requested) {
    const got = dotconfig.get(option) ?? 'n';
    if (got !== wanted) out.push({ option, wanted, got });
  }
  return out;
}

export function describeMismatches(ms: readonly ConfigMismatch[]): string {
  return ms.map((m) => `  ${m.option}: wanted ${m.wanted}, got ${m.got}`).join('\n');
}
