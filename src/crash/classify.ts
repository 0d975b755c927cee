/**
 * Finds kernel trouble in a console log: oopses, BUGs, WARNINGs, panics,
 * refcount_t complaints, the unregister wait message, ref_tracker leaks.
 * Pure. The table follows syzkaller's pkg/report/linux.go in spirit: a title
 * per pattern, and the lines around the match as the excerpt.
 */

export type CrashKind =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'warning'
  | 'refcount'
  | 'unregister-wait'
  | 'ref-leak'
  | 'hung-task'
  | 'rcu-stall';

export interface CrashFinding {
  kind: CrashKind;
  title: string;
  /** 1-based line of the console log. */
  line: number;
  excerpt: string;
}

interface Pattern {
  kind: CrashKind;
  re: RegExp;
  title: (m: RegExpExecArray) => string;
}

const PATTERNS: readonly Pattern[] = [
  { kind: 'panic', re: /Kernel panic - not syncing: (.*)/, title: (m) => `kernel panic: ${m[1]}` },
  { kind: 'refcount', re: /refcount_t: ([^.]+)\./, title: (m) => `refcount_t: ${m[1]}` },
  { kind: 'unregister-wait', re: /unregister_netdevice: waiting for (\S+) to become free\. Usage count = (-?\d+)/, title: (m) => `unregister_netdevice: waiting for ${m[1]} (usage count ${m[2]})` },
  // 6.1 says "leaked reference."; 6.12 "ref_tracker: NAME@ADDR has N/M users at" and the stack (model/release-rules.ts).
  { kind: 'ref-leak', re: /leaked reference\./, title: () => 'ref_tracker: leaked reference' },
  { kind: 'ref-leak', re: /ref_tracker: (\S+)@\S+ has (\d+)\/(\d+) users at/, title: (m) => `ref_tracker: ${m[1]} has ${m[2]}/${m[3]} users` },
  { kind: 'hung-task', re: /INFO: task (\S+) blocked for more than (\d+) seconds/, title: (m) => `hung task ${m[1]}` },
  { kind: 'rcu-stall', re: /rcu: INFO: (\S+) detected (?:expedited )?stalls/, title: (m) => `RCU stall (${m[1]})` },
  { kind: 'oops', re: /Oops: (.*)|general protection fault(.*)/, title: (m) => `oops: ${(m[1] ?? m[2] ?? '').trim()}` },
  { kind: 'bug', re: /\bBUG: (.*)|kernel BUG at (\S+)/, title: (m) => `BUG: ${(m[1] ?? m[2] ?? '').trim()}` },
  { kind: 'warning', re: /WARNING: CPU: \d+ PID: \d+ at (\S+)/, title: (m) => `WARNING at ${m[1]}` },
];

/** Strip the "[   12.345678] " timestamp. */
const bare = (line: string): string => line.replace(/^\[\s*\d+\.\d+\]\s?/, '');

export function classifyConsole(log: string, context = { before: 2, after: 12 }): CrashFinding[] {
  const lines = log.split(/\r?\n/);
  const findings: CrashFinding[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = bare(lines[i] ?? '');
    for (const p of PATTERNS) {
      const m = p.re.exec(text);
      if (!m) continue;
      const excerpt = lines.slice(Math.max(0, i - context.before), i + 1 + context.after).join('\n');
      findings.push({ kind: p.kind, title: p.title(m), line: i + 1, excerpt });
      break;
    }
  }
  return findings;
}

/** Findings a scenario did not ask for. */
export function unexpected(findings: readonly CrashFinding[], expected: readonly CrashKind[]): CrashFinding[] {
  return findings.filter((f) => !expected.includes(f.kind));
}

/** The device an unregister-wait finding names, or null for any other finding. */
export function waitingDevice(f: CrashFinding): string | null {
  return f.kind === 'unregister-wait' ? (/waiting for (\S+) /.exec(f.title)?.[1] ?? null) : null;
}
