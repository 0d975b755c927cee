/**
 * One `vm-test` run, the whole flow: kernel -> module -> initramfs -> VM ->
 * target -> scenarios -> model -> report. Everything with side effects is
 * called from here; the judging is done by the pure parts it wires together.
 */
import { classifyConsole, unexpected, waitingDevice, type CrashFinding } from '../crash/classify.js';
import { HarnessError, UntestableError } from '../errors.js';
import { RefProbe } from '../probe/client.js';
import type { ProbeInfo } from '../probe/parse.js';
import { isPassOrSkip, scenarioStatus, type RunReport, type ScenarioResult } from '../report/report.js';
import { tapHeader, tapNotRun, tapScenario, tapSummary } from '../report/tap.js';
import { SCENARIOS } from '../scenarios/index.js';
import { ClaimWaits, Steps, type Scenario } from '../scenarios/scenario.js';
import { RELEASE_DEPENDENT, type RulesChoice } from '../model/release-rules.js';
import { TargetError, type MachineFacts, type Target } from '../backend/target.js';
import type { Backend, GuestFacts } from '../backend/backend.js';
import { loadProbe, type Guest } from './guest.js';
import { formatCpuList } from '../model/cpumask.js';
import { makeRunDir } from './run-dir.js';
import { emulatorVersion, harnessProvenance, kernelProvenance, REPORT_SCHEMA } from './provenance.js';
import { appender, writeOutput } from './outputs.js';

/** What to run: the scenarios on one machine (a backend: a QEMU guest of a kernel and topology, or a machine over SSH). */
export interface RunRequest {
  backend: Backend;
  scenarios: readonly Scenario[];
  moduleParams: Record<string, string | number | boolean>;
  /** The run's stable name in reports and comparisons (a matrix cell's label). */
  label?: string;
  /** Stop after the first scenario that fails or crashes (TAP "Bail out!"): a verdict, not the full picture. */
  failFast?: boolean;
}

/** The run's context: where its files go, who hears it, its seed, Ctrl-C and its limits. */
export interface RunContext {
  repoRoot: string;
  outDir: string;
  /** Keep this run's files exactly here (a matrix cell) instead of a new out/runs/<time>-<pid>/. */
  runDir?: string;
  /** Progress for people (stderr). */
  progress: (line: string) => void;
  /** TAP for machines (stdout). */
  tap: (text: string) => void;
  signal?: AbortSignal;
  /** Echo the console to progress. */
  verbose: boolean;
  /** Seeds the stress streams (u32); the same seed replays the same streams. */
  seed: number;
  bootTimeoutSec: number;
  commandTimeoutSec: number;
  runTimeoutSec: number;
}

export { SCENARIOS };

/**
 * The module's stress and race workers give up after worker_timeout_ms and
 * report ETIMEDOUT; the harness gives up on a command after
 * --command-timeout. The module must give up first, with time to answer,
 * or a slow run ends as a dead guest instead of an error with its readings.
 */
export function effectiveModuleParams(params: Record<string, string | number | boolean>, commandTimeoutSec: number): Record<string, string | number | boolean> {
  return { worker_timeout_ms: Math.max(10, Math.floor((commandTimeoutSec * 1000) / 2)), ...params };
}

function since(t: number): number {
  return Math.round(performance.now() - t);
}

export async function runVmTest(request: RunRequest, opts: RunContext): Promise<RunReport> {
  const t0 = performance.now();
  const req: RunRequest = { ...request, moduleParams: effectiveModuleParams(request.moduleParams, opts.commandTimeoutSec) };
  const { backend } = req;
  const files = await makeRunDir(opts.outDir, new Date(), opts.runDir);
  const report: RunReport = {
    schema: REPORT_SCHEMA,
    tool: 'pcpu-refcnt-harness vm-test',
    provenance: { ...(await harnessProvenance(opts.repoRoot, backend.emulator)), kernelConfig: null, kernelGit: null },
    ...(req.label ? { label: req.label } : {}),
    planned: req.scenarios.map((s) => s.name),
    seed: opts.seed,
    startedAt: new Date().toISOString(),
    ok: false,
    kernel: null,
    rules: null,
    variant: null,
    tracker: null,
    topology: null,
    accel: null,
    target: null,
    boot: null,
    module: null,
    initramfs: null,
    phasesMs: {},
    scenarios: [],
    crashes: [],
    error: null,
    errorKind: null,
    files: { dir: files.dir, console: files.console, report: files.report, tap: files.tap },
  };
  const tapCopy = appender(files.tap, opts.progress);
  const tap = async (text: string): Promise<void> => {
    opts.tap(text);
    await tapCopy(`${text}\n`);
  };
  const consoleLines: string[] = [];
  let headerDone = false;
  const leftovers: Leftovers = { stuck: new Set(), carried: [] };
  let guest: Guest | null = null;
  let rules: RulesChoice | null = null;
  // --timeout bounds the run from the boot on: building a kernel (a user's tree, a variant) may take longer, and has its own limit.
  let timeout: AbortSignal | null = null;
  let signal: AbortSignal = opts.signal ?? new AbortController().signal;
  // Set once the machine is open: an abort or the end of the run closes it.
  let closeGuest: (() => Promise<void>) | null = null;
  let machineTarget: Target | null = null;
  const onAbort = (): void => void closeGuest?.();
  const abortReason = (): string =>
    timeout?.aborted ? `the whole run exceeded --timeout ${opts.runTimeoutSec} s` : 'interrupted';

  try {
    const onConsoleLine = (line: string): void => {
      consoleLines.push(line);
      if (opts.verbose) opts.progress(`console: ${line}`);
    };
    const record = async (f: GuestFacts): Promise<void> => {
      report.kernel = f.kernel;
      if (report.provenance && f.kernelTree) Object.assign(report.provenance, await kernelProvenance(f.kernelTree));
      if (report.provenance && f.emulator && f.emulator !== backend.emulator) report.provenance.qemu = await emulatorVersion(f.emulator);
      report.module = { vermagic: f.module.vermagic, params: req.moduleParams, cached: f.module.cached };
      report.boot = f.boot;
      report.initramfs = f.initramfs;
      report.accel = f.accel;
      report.phasesMs.build = f.buildMs;
      if (f.initramfsMs !== null) report.phasesMs.initramfs = f.initramfsMs;
    };
    // Building a kernel (a user's tree, a variant) may take longer than --timeout, and has its own limit.
    const prepared = await backend.prepare({ ...opts });
    if (prepared) await record(prepared);
    timeout = AbortSignal.timeout(opts.runTimeoutSec * 1000);
    signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    signal.addEventListener('abort', onAbort);
    if (signal.aborted) throw new Error(abortReason());
    const opened = await backend.open({ ...opts, signal, consoleLog: files.console, onConsoleLine });
    closeGuest = opened.close;
    machineTarget = opened.target;
    if (!prepared) await record(opened.facts);
    rules = (prepared ?? opened.facts).rules;
    guest = await loadProbe(opened, req.moduleParams);
    if (signal.aborted) throw new Error(abortReason());
    const { target, probe, info } = guest;
    const machine = guest.machine;
    report.rules = { series: rules.rules.series, readFrom: rules.rules.readFrom, exact: rules.exact, why: rules.why, ...(rules.exact ? {} : { mayNotHold: [...RELEASE_DEPENDENT] }) };
    if (machine) report.firmware = machine.firmwareText;
    report.target = target.description;
    report.variant = info.variant;
    report.tracker = info.tracker;
    report.topology = info.topology;
    report.phasesMs.boot = guest.bootMs;
    opts.progress(
      `guest: ${info.release}, variant ${info.variant}, possible CPUs ${formatCpuList(info.topology.possible)}, online ${formatCpuList(info.topology.online)} (up in ${guest.bootMs} ms)`,
    );

    const t = performance.now();
    await tap(tapHeader(req.scenarios.length, [`kernel ${info.release} (${info.variant}), ${target.description}`, `model: ${rules.why}`, `seed ${opts.seed} (--seed ${opts.seed} replays the stress streams)`]));
    headerDone = true;
    for (const [i, sc] of req.scenarios.entries()) {
      if (signal.aborted) throw new Error(abortReason());
      const result = await runScenario(sc, { probe, info, rules, machine, moduleParams: req.moduleParams, seed: opts.seed }, opts.progress, consoleLines, target, leftovers);
      report.scenarios.push(result);
      await tap(tapScenario(i + 1, result));
      opts.progress(`scenario ${i + 1}/${req.scenarios.length} ${sc.name}: ${result.status}`);
      // A dead or hung guest answers nothing more: stop here rather than fail every later scenario.
      if (target.failure) throw target.failure;
      if (req.failFast && (result.status === 'fail' || result.status === 'crash')) {
        await tap(`Bail out! ${sc.name} ${result.status === 'fail' ? 'failed' : 'crashed'}; --fail-fast skips the ${req.scenarios.length - i - 1} scenarios after it`);
        break;
      }
    }
    report.phasesMs.scenarios = since(t);
    report.phasesMs.claimWaits = report.scenarios.reduce((a, r) => a + (r.waits ?? []).reduce((b, w) => b + w.ms, 0), 0);
    await tap(tapSummary(report.scenarios));
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (signal.aborted) {
      report.error = abortReason();
      // A run that outlived --timeout hung somewhere: that is the guest's failure, not the user's.
      report.errorKind = timeout?.aborted ? 'guest' : 'interrupted';
    } else if (err instanceof HarnessError) {
      report.error = err.message;
      report.errorKind = err instanceof UntestableError ? 'untestable' : 'setup';
    } else if (err instanceof TargetError) {
      report.error = err.message;
      report.errorKind = 'guest';
    } else {
      report.error = `${err.message}\n${err.stack ?? ''}`;
      report.errorKind = 'internal';
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await closeGuest?.();
  }
  // A machine that outlives the run and was not left as found: the run cannot pass.
  const left = machineTarget?.leftBehind ?? [];
  if (left.length > 0) {
    const what = `after the run: ${left.join('; ')}`;
    report.error = report.error === null ? what : `${report.error}; ${what}`;
    report.errorKind ??= 'guest';
  }
  if (report.error !== null) {
    // A stopped run still leaves a whole TAP document: its plan, and every scenario it never reached.
    const why = report.error.split('\n')[0] ?? report.error;
    if (!headerDone) await tap(tapHeader(req.scenarios.length, [`the run stopped before the first scenario: ${why}`, `seed ${opts.seed}`]));
    const left = req.scenarios.slice(report.scenarios.length).map((s) => s.name);
    if (left.length) await tap(tapNotRun(report.scenarios.length + 1, left, why));
    if (!headerDone || left.length) await tap(`# run stopped: ${why}\n${tapSummary(report.scenarios)}`);
  }
  // Findings inside a scenario's console lines were judged by that scenario.
  const inScenario = (line: number): boolean => report.scenarios.some((s) => line > s.consoleLines[0] && line <= s.consoleLines[1]);
  report.crashes = [...classifyConsole(consoleLines.join('\n')).filter((c) => !inScenario(c.line)), ...leftovers.carried].sort((a, b) => a.line - b.line);
  report.phasesMs.total = since(t0);
  report.ok = report.error === null && report.crashes.length === 0 && report.scenarios.length === req.scenarios.length && report.scenarios.every((s) => isPassOrSkip(s.status));
  await writeOutput(files.report, `${JSON.stringify(report, null, 2)}\n`, opts.progress);
  return report;
}

/**
 * Devices earlier scenarios could not free (stuck, filled in here) and the
 * console findings about them seen since (carried): the run's, not the
 * scenario's that happened to be running.
 */
interface Leftovers {
  stuck: Set<string>;
  carried: CrashFinding[];
}

/** What every scenario of a run shares: the module, what it reported, the kernel's rules, the machine, the module's parameters and the seed. */
interface RunFacts {
  probe: RefProbe;
  info: ProbeInfo;
  rules: RulesChoice;
  machine: MachineFacts | undefined;
  moduleParams: Record<string, string | number | boolean>;
  seed: number;
}

async function runScenario(
  sc: Scenario,
  { probe, info, rules, machine, moduleParams, seed }: RunFacts,
  progress: (line: string) => void,
  consoleLines: string[],
  target: Target,
  { stuck, carried }: Leftovers,
): Promise<ScenarioResult> {
  const stuckBefore = new Set(stuck);
  const startedAt = new Date().toISOString();
  const start = performance.now();
  const firstLine = consoleLines.length;
  const steps = new Steps(probe, (s) => {
    if (!s.ok) progress(`  MISMATCH ${sc.name}: ${s.op}`);
  });
  const waits = new ClaimWaits();
  let error: string | undefined;
  try {
    await sc.run({ probe, info, steps, waits, console: consoleLines, moduleParams, seed, rules, ...(machine ? { machine } : {}) });
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    // A dead guest flushes its last words to the console as it goes.
    if (e instanceof TargetError && e.kind === 'guest-died') await target.settled();
  }
  if (!target.failure) {
    const c = await cleanupDevices(probe, info, stuckBefore).catch((e: Error) => ({ error: `cleanup: ${e.message}`, stuck: [] as string[] }));
    error ??= c.error;
    for (const name of c.stuck) stuck.add(name);
  }
  const found = unexpected(classifyConsole(consoleLines.slice(firstLine).join('\n')), sc.expectedConsole ?? []).map((c) => ({
    ...c,
    line: c.line + firstLine,
  }));
  // The kernel goes on complaining about a device an earlier scenario could not free: its bug, not this one's.
  const inherited = found.filter((c) => {
    const dev = waitingDevice(c);
    return dev !== null && stuckBefore.has(dev);
  });
  const crashes = found.filter((c) => !inherited.includes(c));
  carried.push(...inherited);
  return {
    name: sc.name,
    claim: sc.claim,
    status: scenarioStatus(steps.records, crashes, error),
    steps: steps.records,
    crashes,
    ...(error ? { error } : {}),
    startedAt,
    durationMs: Math.round(performance.now() - start),
    ...(waits.list.length ? { waits: waits.list } : {}),
    consoleLines: [firstLine, consoleLines.length],
  };
}

/**
 * Leaves no device behind for the next scenario: puts back what the module
 * holds, unregisters, frees. Returns an error message if that failed, and
 * the devices that could not be freed (a kernel that never lets go).
 */
async function cleanupDevices(probe: RefProbe, info: ProbeInfo, known: ReadonlySet<string>): Promise<{ error?: string; stuck: string[] }> {
  const devices = await probe.devices();
  const online = info.topology.online[0] ?? 0;
  const stuck: string[] = [];
  let error: string | undefined;
  for (const d of devices.values()) {
    // Already stuck after an earlier scenario: waiting on it again would only make this one an error too.
    if (known.has(d.name)) continue;
    // A stress run can leave more than one put may drop (max_count): put in batches.
    for (let left = d.held; left > 0; left -= info.maxCount) await probe.ctl(`put ${d.name} ${online} ${Math.min(left, info.maxCount)}`);
    if (d.tracked) await probe.ctl(`put_tracked ${d.name} ${online}`);
    // Puts past one while unregister waited (unregister-below-one): the hold that pays them back ends the wait.
    if (d.held < 0 && d.unreg === 'pending') await probe.ctl(`hold ${d.name} ${online} ${-d.held}`);
    if (d.unreg === 'pending') await probe.waitFor(d.name, (x) => x?.unreg === 'done', 30_000);
    if (d.reg === 'registered' && d.unreg === 'none') await probe.ctl(`unregister ${d.name}`);
    const r = await probe.ctl(`free ${d.name}`);
    if (!r.ok) {
      stuck.push(d.name);
      error ??= `cleanup: could not free ${d.name}: ${r.error}`;
    }
  }
  return { ...(error ? { error } : {}), stuck };
}
