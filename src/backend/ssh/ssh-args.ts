/**
 * The machine under test over SSH: its address and the OpenSSH command
 * lines that reach it (pure). One master connection per run
 * (ControlMaster), so every later command costs a round trip on it, not a
 * handshake. BatchMode always: a password or passphrase prompt would hang
 * a run that nobody watches. Host keys are checked as the user's ssh
 * config says; --ssh-option can add to it (a known_hosts file of its own).
 */
import { HarnessError } from '../../errors.js';

export interface SshDestination {
  user: string | null;
  host: string;
  port: number | null;
}

export interface SshSettings {
  dest: SshDestination;
  /** -i: the private key, or null for the user's ssh config and agent. */
  identity: string | null;
  /** -o KEY=VALUE given by the user, in order. */
  options: readonly string[];
  /** The master connection's socket (a short path: sockets have a 108-byte limit). */
  controlPath: string;
  connectTimeoutSec: number;
}

const URL_FIX = 'pass --target ssh://[USER@]HOST[:PORT], e.g. ssh://root@lab-box or ssh://root@127.0.0.1:2222';

/** ssh://[user@]host[:port], host a name, an IPv4 address or [an IPv6 one]. */
export function parseSshUrl(url: string): SshDestination {
  const m = /^ssh:\/\/(?:([^@/:\s]+)@)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d+))?\/?$/.exec(url);
  if (!m) throw new HarnessError(`--target ${JSON.stringify(url)} is not an SSH address`, URL_FIX);
  const port = m[3] === undefined ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) throw new HarnessError(`--target ${url}: port ${port} is out of range`, URL_FIX);
  const host = (m[2] ?? '').replace(/^\[(.*)\]$/, '$1');
  if (host.startsWith('-')) throw new HarnessError(`--target ${url}: a host cannot start with "-"`, URL_FIX);
  return { user: m[1] ?? null, host, port };
}

export function formatDestination(d: SshDestination): string {
  const host = d.host.includes(':') ? `[${d.host}]` : d.host;
  return `ssh://${d.user ? `${d.user}@` : ''}${host}${d.port ? `:${d.port}` : ''}`;
}

/** KEY=VALUE, as ssh -o takes it. */
export function checkSshOption(o: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*=\S.*$/.test(o)) {
    throw new HarnessError(`--ssh-option ${JSON.stringify(o)} is not KEY=VALUE`, 'pass an ssh_config option, e.g. --ssh-option UserKnownHostsFile=/path/known_hosts');
  }
  const key = o.slice(0, o.indexOf('=')).toLowerCase();
  if (['controlmaster', 'controlpath', 'controlpersist', 'batchmode'].includes(key)) {
    throw new HarnessError(`--ssh-option ${o}: the harness sets ${o.slice(0, o.indexOf('='))} itself`, 'leave it out: one master connection per run, never a prompt');
  }
  return o;
}

/** What every ssh invocation of the run shares. The first value ssh reads for an option wins. */
function common(s: SshSettings, controlPath = s.controlPath): string[] {
  const args = ['-o', 'BatchMode=yes', '-o', `ControlPath=${controlPath}`];
  for (const o of s.options) args.push('-o', o);
  args.push(
    '-o', `ConnectTimeout=${s.connectTimeoutSec}`,
    // A link that dies is noticed within 15 s, not at the TCP timeout.
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
  );
  if (s.identity) args.push('-i', s.identity, '-o', 'IdentitiesOnly=yes');
  if (s.dest.port) args.push('-p', String(s.dest.port));
  if (s.dest.user) args.push('-l', s.dest.user);
  return args;
}

/** The master connection, held by the harness as a child process for the run. */
export function masterArgs(s: SshSettings): string[] {
  return [...common(s), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-N', '--', s.dest.host];
}

/** One command on the master connection (its own session: no new handshake). */
export function commandArgs(s: SshSettings, remoteCommand: string): string[] {
  return [...common(s), '-o', 'ControlMaster=no', '-T', '--', s.dest.host, remoteCommand];
}

/** A command without the master (cleaning up after it was lost): its own connection. */
export function directArgs(s: SshSettings, remoteCommand: string): string[] {
  return [...common(s, 'none'), '-o', 'ControlMaster=no', '-T', '--', s.dest.host, remoteCommand];
}

/** Asks the master whether it is up (-O check), or to go (-O exit). */
export function controlArgs(s: SshSettings, op: 'check' | 'exit'): string[] {
  return [...common(s), '-O', op, '--', s.dest.host];
}

/** Quotes a word for the remote shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
