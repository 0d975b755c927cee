/**
 * Options more than one command takes, declared once (as kunit.py's
 * add_common_opts, add_build_opts...): each group is a parseArgs table and
 * the function that turns its values into the request the stage takes, so
 * an option means the same in vm-test, bench and mutants. Pure.
 */
import { randomInt } from 'node:crypto';
import type { ParseArgsConfig } from 'node:util';
import { HarnessError } from '../errors.js';
import { intOption, oneOf } from './options.js';
import type { QemuSettings } from '../backend/qemu/guest.js';
import { kernelArgs, qemuExtraArgs } from '../backend/qemu/user-args.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
const list = (v: Values, k: string): string[] => (Array.isArray(v[k]) ? (v[k] as string[]) : []);

/** How to build and boot a QEMU guest (vm-test, bench). */
export const GUEST_OPTIONS = {
  accel: { type: 'string' },
  singlestep: { type: 'string' },
  machine: { type: 'string' },
  'present-as': { type: 'string' },
  boot: { type: 'string' },
  memory: { type: 'string' },
  qemu: { type: 'string' },
  busybox: { type: 'string' },
  append: { type: 'string', multiple: true },
  'qemu-arg': { type: 'string', multiple: true },
} as const satisfies Options;

/** The names of GUEST_OPTIONS: what a machine over SSH cannot take. */
export const GUEST_OPTION_NAMES: readonly string[] = Object.keys(GUEST_OPTIONS);

export function parseGuestOptions(v: Values): QemuSettings {
  const machine = oneOf('machine', str(v, 'machine'), ['pc', 'microvm'] as const, 'pc');
  const presentAs = oneOf('present-as', str(v, 'present-as'), ['auto', 'qemu', 'vmware'] as const, 'auto');
  if (presentAs === 'vmware' && machine !== 'pc') throw new HarnessError('--present-as vmware with --machine microvm', 'microvm has no VMware backdoor port (vmport) and no CPU hotplug to gain from it: use --machine pc');
  return {
    accel: oneOf('accel', str(v, 'accel'), ['auto', 'kvm', 'tcg'] as const, 'auto'),
    singlestep: oneOf('singlestep', str(v, 'singlestep'), ['auto', 'on', 'off'] as const, 'auto'),
    machine,
    presentAs,
    boot: oneOf('boot', str(v, 'boot'), ['auto', 'pvh', 'bzimage'] as const, 'auto'),
    memoryMb: intOption('memory', str(v, 'memory'), 256, 128, 16384),
    qemu: str(v, 'qemu') ?? 'qemu-system-x86_64',
    busybox: str(v, 'busybox') ?? '/bin/busybox',
    append: kernelArgs(list(v, 'append')),
    qemuExtra: qemuExtraArgs(list(v, 'qemu-arg')),
  };
}

/** Limits on one machine: until its agent answers, and per command (vm-test, bench). */
export const LIMIT_OPTIONS = {
  'boot-timeout': { type: 'string' },
  'command-timeout': { type: 'string' },
} as const satisfies Options;

export function parseLimitOptions(v: Values): { bootTimeoutSec: number; commandTimeoutSec: number } {
  return {
    bootTimeoutSec: intOption('boot-timeout', str(v, 'boot-timeout'), 120, 5, 3600),
    commandTimeoutSec: intOption('command-timeout', str(v, 'command-timeout'), 60, 1, 3600),
  };
}

/** The stress streams' seed (vm-test, mutants): random unless given, and printed so a run can be replayed. */
export const SEED_OPTION = { seed: { type: 'string' } } as const satisfies Options;

/** --shard K/N (vm-test, mutants): the Kth of N shares of the work, for N CI jobs (run/shard.ts parses it). */
export const SHARD_OPTION = { shard: { type: 'string' } } as const satisfies Options;

export function parseSeed(v: Values): number {
  return intOption('seed', str(v, 'seed'), randomInt(2 ** 32), 0, 2 ** 32 - 1);
}
