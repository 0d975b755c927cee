/**
 * The seam between the run and the machine under test, as syzkaller's
 * vm/vmimpl splits a pool from its instances: a Backend opens one machine
 * (qemu/: boots a guest it builds; ssh/: reaches a running one) and says
 * what the report needs to know of it. The run never asks which backend it
 * has: after open() it holds a Target, the module's path there, and facts.
 */
import type { RulesChoice } from '../model/release-rules.js';
import type { MachineFacts, Target } from './target.js';

/** What every backend is given: where the repository is, progress, Ctrl-C, and the per-machine limits. */
export interface BackendContext {
  repoRoot: string;
  progress: (line: string) => void;
  signal?: AbortSignal;
  /** Until the machine's agent answers. */
  bootTimeoutSec: number;
  /** The default limit of one command on the machine. */
  commandTimeoutSec: number;
}

export interface OpenContext extends BackendContext {
  /** Where the machine's console (QEMU) or kernel log (SSH) is kept. */
  consoleLog: string;
  onConsoleLine: (line: string) => void;
}

/** What a backend learnt of the kernel and how it got the module there: the report's fields. */
export interface GuestFacts {
  kernel: { image: string; kdir: string; release: string; banner: string };
  /** The kernel's source or build tree, for provenance (its config, its git checkout); null for a machine's running kernel. */
  kernelTree: string | null;
  module: { vermagic: string; cached: boolean };
  /** The kernel's release rules, chosen from its version (model/release-rules.ts). */
  rules: RulesChoice;
  boot: { path: string; mode: string; reason: string } | null;
  initramfs: { path: string; bytes: number; cached: boolean } | null;
  accel: { accel: string; reason: string } | null;
  /** Milliseconds building the module (and kernel, boot image) and packing the initramfs. */
  buildMs: number;
  initramfsMs: number | null;
  /** The emulator the kernel needs, where it is not the backend's first guess (an arm64 kernel's QEMU). */
  emulator?: string;
}

/** An open machine: commands through `target`, the module at `modulePath`, not yet loaded. */
export interface OpenedGuest {
  target: Target;
  /** refprobe.ko on the machine, for insmod. */
  modulePath: string;
  /** The error for a kernel there that refuses the module (its words in `why`); null: the probe's own (untestable). */
  moduleRefused: ((why: string) => Error) | null;
  facts: GuestFacts;
  /** The CPUs the harness gave the machine and what its firmware says of them; absent for a machine it did not make. */
  machine?: MachineFacts;
  /** Milliseconds from starting the machine (or connecting) until its agent answered. */
  bootMs: number;
  /** Stops the machine (or leaves it as found) and removes the run's files there. */
  close(): Promise<void>;
}

export interface Backend {
  /** For progress and reports: "qemu" or "ssh". */
  readonly kind: 'qemu' | 'ssh';
  /** The emulator the machine runs under (its version goes in the provenance); null for a real machine. */
  readonly emulator: string | null;
  /**
   * Work the run's --timeout does not bound (finding or building a kernel
   * may take long), and what it learnt; null where nothing is known before
   * the machine is reached.
   */
  prepare(ctx: BackendContext): Promise<GuestFacts | null>;
  /** Boots or connects; --timeout bounds this and everything after. */
  open(ctx: OpenContext): Promise<OpenedGuest>;
}
