/** Checks for command-line values shared by every entry point: each error names the option and what to pass. Pure. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HarnessError } from '../errors.js';

/** parseArgs for COMMAND: an unknown or malformed option is one line and a fix (see COMMAND --help), the same in every command. */
export function parseCommandLine<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new HarnessError((e as Error).message, `see ${command} --help`);
  }
}

export function intOption(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new HarnessError(`--${name} ${raw} is not a whole number from ${min} to ${max}`, `pass --${name} N with ${min} <= N <= ${max}`);
  }
  return n;
}

export function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], def: T): T {
  if (raw === undefined) return def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new HarnessError(`--${name} ${raw} is not known`, `pass --${name} ${allowed.join('|')}`);
  }
  return raw as T;
}
