/**
 * The kernel's own rules that differ between releases and that a scenario's
 * prediction depends on, chosen by the booted kernel's release (from its
 * image and banner, before any reading) and never by what a run observed.
 * Each rule names the source it was read from; docs/kernel-notes.md has the
 * lines. Pure.
 *
 * Read so far: Debian's linux-source-6.1 (6.1.192) and linux-source-6.12
 * (6.12.118). Their mechanism (per-CPU counters, the possible-CPU sum, the
 * wait for 1, the warning texts, refcount_t and the tracker) reads the same;
 * what differs is which CPUs the firmware makes possible (the 6.9 x86
 * topology rework and the acpi_is_processor_usable() fixes in 6.12 stable).
 */

import { HarnessError } from '../errors.js';

export interface KernelVersion {
  major: number;
  minor: number;
  sublevel: number;
}

/**
 * The upstream version of a kernel. Debian's 6.1 releases say "6.1.0-57-amd64"
 * (ABI 57, not sublevel 0): their banner ends in "Debian 6.1.158-1", which is
 * the real one. Everyone else's release starts with it ("6.12.118+deb12-amd64",
 * "6.1.192-pcpu").
 */
export function kernelVersion(release: string, banner = ''): KernelVersion {
  const debian = / Debian (\d+)\.(\d+)\.(\d+)/.exec(banner);
  const m = debian ?? /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) throw new HarnessError(`kernel release "${release}" does not start with a version (X.Y or X.Y.Z): the model cannot tell which release's rules apply`, 'boot a kernel whose release (uname -r) starts with its version, as every kernel tree makes it');
  return { major: Number(m[1]), minor: Number(m[2]), sublevel: Number(m[3] ?? 0) };
}

export const formatVersion = (v: KernelVersion): string => `${v.major}.${v.minor}.${v.sublevel}`;

/**
 * What the machine's firmware tables say about its CPUs, and what the kernel
 * can tell about the machine (backend/qemu/firmware.ts describes QEMU's): the inputs
 * the kernel's possible-CPU rule takes.
 */
export interface CpuFirmware {
  /**
   * Where the kernel learns its CPUs: ACPI (x86: the MADT, the rules below)
   * or a device tree (arm64 on QEMU's virt: possibleFromDeviceTree). Default acpi.
   */
  tables?: 'acpi' | 'devicetree';
  /** Processors the ACPI MADT lists as enabled: present at boot. */
  enabled: number;
  /** Processors it lists with Enabled=0: sockets a CPU may be added to later. */
  disabled: number;
  /** Whether those disabled entries carry the MADT "Online Capable" flag (ACPI 6.3). */
  onlineCapable: boolean;
  /** The FADT's revision (major.minor): 6.3 and later announce Online Capable. */
  fadt: { major: number; minor: number };
  /**
   * The hypervisor the kernel recognises (detect_hypervisor_vendor()), or
   * 'none': it believes it runs on bare metal. KVM needs both the KVM
   * accelerator and a kernel with CONFIG_KVM_GUEST (hypervisor.c:39).
   */
  hypervisor: 'none' | 'kvm' | 'vmware';
  /** possible_cpus= on the kernel command line, or null. */
  possibleCpusParam: number | null;
  /** The kernel's CONFIG_NR_CPUS. */
  nrCpus: number;
}

export interface PossibleCpusRule {
  /** How many CPUs the kernel makes possible. */
  possible: number;
  /** How many of those are not present at boot: CPUs the machine can hot-add. */
  hotAddable: number;
  /** Why, in the kernel's and the firmware's words, with the source it comes from. */
  why: string;
}

/** A release series whose source the rules were read from. */
export type RulesSeries = '6.1' | '6.12';

export interface ReleaseRules {
  series: RulesSeries;
  /** The tree the rules were read from. */
  readFrom: string;
  possibleCpus(fw: CpuFirmware): PossibleCpusRule;
  /**
   * The first line of the reference tracker's report of a reference still
   * held when the unregister wait warns (netdev_wait_allrefs_any ->
   * ref_tracker_dir_print); the stack that took it follows.
   */
  trackerLeak: { re: RegExp; source: string };
}

/** The scenarios whose predictions depend on a rule that differs between releases. */
export const RELEASE_DEPENDENT = ['possible-cpus', 'cpu-unplug', 'tracker-leak'] as const;

const fadtAtLeast63 = (fw: CpuFirmware): boolean => fw.fadt.major > 6 || (fw.fadt.major === 6 && fw.fadt.minor >= 3);

function describe(fw: CpuFirmware): string {
  const param = fw.possibleCpusParam === null ? '' : `, possible_cpus=${fw.possibleCpusParam}`;
  return `the MADT lists ${fw.enabled} enabled and ${fw.disabled} disabled processor(s), FADT revision ${fw.fadt.major}.${fw.fadt.minor}${param}`;
}

/**
 * arm64 with a device tree, the same in 6.1.192 and 6.12: arch/arm64/kernel/
 * smp.c:630 of_parse_and_init_cpus() maps every cpu node of /cpus, and
 * smp_init_cpus() (smp.c:688) makes each possible (smp_cpu_setup(), smp.c:502
 * set_cpu_possible), at most nr_cpu_ids. There is no possible_cpus=
 * (an x86 parameter, arch/x86/kernel/smpboot.c:1518). QEMU 7.2's virt writes
 * a node per CPU it boots (-smp), and cannot hot-add one: possible = present.
 */
function possibleFromDeviceTree(series: RulesSeries, fw: CpuFirmware): PossibleCpusRule {
  const possible = Math.min(fw.enabled, fw.nrCpus);
  return {
    possible,
    hotAddable: 0,
    why: `${series} arm64: the device tree lists ${fw.enabled} cpu node(s); smp_init_cpus() makes each possible (arch/arm64/kernel/smp.c), and QEMU's virt lists only the CPUs it boots: possible = present, none hot-pluggable${possible < fw.enabled ? `, capped at NR_CPUS=${fw.nrCpus}` : ''}`,
  };
}

/**
 * 6.1.192, arch/x86/kernel/acpi/boot.c:198 acpi_is_processor_usable(): a
 * disabled entry counts unless the FADT announces Online Capable (>= 6.3,
 * boot.c:154) and the entry lacks the flag. smpboot.c:1538 prefill_possible_map():
 * possible = enabled + disabled, or exactly possible_cpus= when given (it may
 * raise the count), at most nr_cpu_ids (NR_CPUS).
 */
const RULES_6_1: ReleaseRules = {
  series: '6.1',
  readFrom: "Debian's linux-source-6.1 (6.1.192)",
  trackerLeak: { re: /leaked reference\./, source: 'lib/ref_tracker.c:55 ref_tracker_dir_print(): pr_err("leaked reference.\\n") (no pr_fmt prefix), then the stack' },
  possibleCpus(fw) {
    if (fw.tables === 'devicetree') return possibleFromDeviceTree('6.1', fw);
    const usable = fadtAtLeast63(fw) && !fw.onlineCapable ? 0 : fw.disabled;
    const asked = fw.possibleCpusParam ?? fw.enabled + usable;
    const possible = Math.min(asked, fw.nrCpus);
    const how = fw.possibleCpusParam !== null
      ? `possible_cpus=${fw.possibleCpusParam} sets the count (smpboot.c prefill_possible_map)`
      : `the disabled entries count as hot-pluggable (acpi_is_processor_usable: ${fadtAtLeast63(fw) ? (fw.onlineCapable ? 'they are Online Capable' : 'not Online Capable, so none') : 'FADT before 6.3, every one'})`;
    return { possible, hotAddable: Math.max(0, Math.min(possible, fw.enabled + usable) - fw.enabled), why: `6.1: ${describe(fw)}; ${how}${possible < asked ? `, capped at NR_CPUS=${fw.nrCpus}` : ''}` };
  },
};

/**
 * 6.12.118, arch/x86/kernel/acpi/boot.c:163 acpi_is_processor_usable(): with
 * a FADT of 6.3 or later a disabled entry counts only if Online Capable;
 * with an older FADT only when the kernel detects a hypervisor (QEMU's
 * legacy Enabled=0 entries, "x86/acpi/boot: Correct acpi_is_processor_usable()
 * check again", in 6.12.77). topology.c:445
 * topology_init_possible_cpus(): possible = min(enabled + usable disabled,
 * nr_cpu_ids), and possible_cpus= (topology.c:421) only lowers nr_cpu_ids.
 */
const RULES_6_12: ReleaseRules = {
  series: '6.12',
  readFrom: "Debian's linux-source-6.12 (6.12.118)",
  // 6.12's tracker groups the references still held by the stack that took them (ref_tracker_get_stats).
  trackerLeak: { re: /ref_tracker: \S+@\S+ has \d+\/\d+ users at/, source: 'lib/ref_tracker.c:110 "%s@%pK has %d/%d users at\\n%s\\n" (pr_fmt "ref_tracker: "), the stack in the same record' },
  possibleCpus(fw) {
    if (fw.tables === 'devicetree') return possibleFromDeviceTree('6.12', fw);
    const usable = fadtAtLeast63(fw) ? (fw.onlineCapable ? fw.disabled : 0) : fw.hypervisor !== 'none' ? fw.disabled : 0;
    const limit = Math.min(fw.possibleCpusParam ?? fw.nrCpus, fw.nrCpus);
    const possible = Math.min(fw.enabled + usable, limit);
    const why = fadtAtLeast63(fw)
      ? (fw.onlineCapable ? 'the disabled entries are Online Capable, so they count' : 'the disabled entries are not Online Capable, so none counts')
      : fw.hypervisor !== 'none'
        ? `FADT before 6.3, and the kernel detects a hypervisor (${fw.hypervisor}), so QEMU's disabled entries count`
        : 'FADT before 6.3 and no hypervisor the kernel recognises (under TCG it believes it runs on bare metal), so no disabled entry counts: possible = present at boot';
    const param = fw.possibleCpusParam !== null ? `; possible_cpus=${fw.possibleCpusParam} can only lower the count (topology.c)` : '';
    return { possible, hotAddable: Math.max(0, possible - Math.min(fw.enabled, limit)), why: `6.12: ${describe(fw)}; acpi_is_processor_usable(): ${why}${param}` };
  },
};

export interface RulesChoice {
  rules: ReleaseRules;
  version: KernelVersion;
  /** True when the kernel is of a series the rules were read from, at a sublevel where they hold (6.12: 6.12.77 and later). */
  exact: boolean;
  /** What was chosen and why, for the report; says what may not hold when not exact. */
  why: string;
}

/**
 * The rules for a kernel version. A release between or beyond the series
 * read gets the nearest series' rules, and the choice says so: the
 * scenarios in RELEASE_DEPENDENT may then predict what that release does not do.
 */
export function rulesFor(v: KernelVersion): RulesChoice {
  const version = formatVersion(v);
  const dependent = RELEASE_DEPENDENT.join(', ');
  if (v.major === 6 && v.minor === 1) {
    return { rules: RULES_6_1, version: v, exact: true, why: `kernel ${version}: the rules of 6.1, read from ${RULES_6_1.readFrom}` };
  }
  if (v.major === 6 && v.minor === 12) {
    // The possible-CPU rule changed inside 6.12 stable, in 6.12.77 (Debian's changelog, linux 6.12.85-1:
    // "x86/acpi/boot: Correct acpi_is_processor_usable() check again" under ChangeLog-6.12.77).
    const exact = v.sublevel >= 77;
    return {
      rules: RULES_6_12,
      version: v,
      exact,
      why: exact
        ? `kernel ${version}: the rules of 6.12, read from ${RULES_6_12.readFrom}`
        : `kernel ${version}: the rules of 6.12.118 applied, but 6.12.77 changed acpi_is_processor_usable() ("Correct acpi_is_processor_usable() check again"): ${dependent} may predict what ${version} does not do`,
    };
  }
  const older = v.major < 6 || (v.major === 6 && v.minor < 9);
  const rules = older ? RULES_6_1 : RULES_6_12;
  return {
    rules,
    version: v,
    exact: false,
    why: `kernel ${version}: no rules were read for ${v.major}.${v.minor}; those of ${rules.series} applied (${older ? 'before' : 'after'} the 6.9 x86 topology rework): ${dependent} depend on rules that may not hold for it`,
  };
}
