import { HarnessError } from '../errors.js';
import type { DeviceModel } from '../model/device.js';
import { applyIrqRun, expectedOps, irqReadingEnvelope, referencesLeft, type IrqOps, type IrqRequest } from '../model/irq.js';
import { within } from '../model/race.js';
import type { IrqResult } from '../probe/parse.js';
import { free, lastOnlineCpu, registeredDevice, unregister } from './device-ops.js';
import type { Scenario, ScenarioContext, Steps } from './scenario.js';

/**
 * 5,000 interrupts, 199,900 process-context operations per round (rounds go
 * on until the interrupts are done, each leaving 100 references): enough
 * that a lost update shows, few enough that the race takes about 0.2 s under
 * TCG on an idle host with IPIs from another CPU. Each IPI waits for both
 * vCPUs' threads, so on a busy host it costs far more: 10,000 took 19 s in
 * a default run (two guests) while another build shared the 2 cores, and
 * the module stops a run at worker_timeout_ms (30 s).
 */
export const IRQ_REQUEST: IrqRequest = { hard: 5_000, soft: 2_500, phold: 100_000, pput: 99_900 };
/**
 * With one online CPU a pinned hrtimer interrupts instead, and a kernel
 * without CONFIG_HIGH_RES_TIMERS (the variants) fires it on its tick only:
 * 250 Hz, so 500 interrupts take 2 s there.
 */
export const IRQ_TIMER_REQUEST: IrqRequest = { ...IRQ_REQUEST, hard: 500, soft: 250 };

/**
 * The packet path takes and drops references in interrupt context. Here, on
 * one CPU, each interrupt (an IPI from another CPU, or a pinned hrtimer)
 * holds in hard interrupt context and a tasklet puts in softirq context,
 * while a kthread holds and puts in process context, so the interrupts land
 * between any two of its instructions. The model predicts the counters from
 * the operations done; if no interrupt landed inside the process loop the
 * race did not happen, and that fails: the scenario never passes because it
 * could not look. A dev_hold() whose per-CPU increment is a load, add and
 * store (raw_cpu_inc on arm64) can lose the interrupt's update, and the
 * counter parts from the prediction; under TCG only where an interrupt can
 * split a translation block (-icount: docs/mutants.md).
 */
export const irqContext: Scenario = {
  name: 'irq-context',
  claim: 'holds in hard interrupt and puts in softirq context, landing inside a process-context hold/put loop on the same CPU: every counter exactly as predicted',
  async run(ctx) {
    const dev = await registeredDevice(ctx, 'rpirq0');
    const cpu = lastOnlineCpu(ctx);
    // Another CPU sends the interrupts and reads; without one a pinned hrtimer interrupts, unread.
    const from = ctx.info.topology.online.find((c) => c !== cpu);
    const req = from === undefined ? IRQ_TIMER_REQUEST : IRQ_REQUEST;
    const base = dev.predict().refcnt;
    const command = `irq ${dev.name} ${cpu} ${from ?? 'timer'} ${req.hard} ${req.soft} ${req.phold} ${req.pput}`;
    const r = await ctx.probe.ctl(command);
    if (!r.ok) {
      // After a timeout the irq file still says how far each side got.
      const got = await ctx.probe.irq().then((x) => JSON.stringify(x), () => '');
      throw new HarnessError(`refprobe refused "${command}": ${r.error} (${r.errno})`, 'see kmod/README.md for the irq command and its errors', got && `irq: ${got}`);
    }
    const res = await ctx.probe.irq();
    const ops = observedOps(res);
    checkOperations(ctx.steps, cpu, req, res);
    checkRaceHappened(ctx.steps, res);
    applyIrqRun(dev, cpu, ops);
    const counted = await ctx.steps.check(`irq: CPU ${cpu}'s counter and the sum after the race, from the operations done`, dev, {
      cpu,
      note: `${ops.hardirqHolds} hardirq holds, ${ops.softirqPuts} softirq puts, ${ops.processHolds} process holds and ${ops.processPuts} puts (${res.process.rounds} rounds)`,
    });
    if (!counted.ok) {
      // A lost update: putting back what the module took would leave the count off the baseline, and unregister would wait on it for ever.
      throw new HarnessError(
        `irq: the count of ${dev.name} is not what the operations done make it (the step above): ${dev.name} stays registered, since unregister would wait for a count it never reaches`,
        "the kernel lost or invented references in the race: that is the finding; later scenarios and the module's unload may wait on this device",
      );
    }
    // Without a second CPU nothing reads during the race: the counters above are the claim, checked all the same.
    if (res.reader) {
      const b = typeof base === 'number' ? base : Number.NaN;
      const env = irqReadingEnvelope(b, ops, req);
      ctx.steps.checkValue(
        `irq: readings on CPU ${res.reader.cpu} during the race lie in the model's envelope`,
        { base: b, withinEnvelope: true },
        { base: res.base, withinEnvelope: res.reader.reads > 0 && within(env, res.reader.min, res.reader.max) },
        `${res.reader.reads} readings in [${res.reader.min}, ${res.reader.max}]; envelope [${env.lo}, ${env.hi}]`,
      );
    }
    await putBack(ctx, dev, cpu, referencesLeft(ops));
    await unregister(ctx, dev);
    await free(ctx, dev);
  },
};

function observedOps(res: IrqResult): IrqOps {
  return { hardirqHolds: res.hardirq.ops, softirqPuts: res.softirq.ops, processHolds: res.process.holds, processPuts: res.process.puts };
}

function sourceNote(res: IrqResult): string {
  const s = res.source;
  if (s.kind === 'ipi') return `IPIs from CPU ${s.from}, the next ${s.gapNs / 1000} us after one was handled`;
  return `a pinned hrtimer every ${s.periodNs / 1000} us (hrtimer resolution ${s.resolutionNs} ns), no second CPU to read`;
}

/** Every operation asked for was done, in the context it was meant for, and the process loop ran whole rounds. */
function checkOperations(steps: Steps, cpu: number, req: IrqRequest, res: IrqResult): void {
  const rounds = res.process.rounds;
  steps.checkValue(
    `irq: the operations done on CPU ${cpu}, each in its context`,
    { cpu, ...expectedOps(req, rounds), hardirqInHardirq: req.hard, softirqInSoftirq: req.soft, roundsAtLeast1: true },
    { cpu: res.cpu, ...observedOps(res), hardirqInHardirq: res.hardirq.inContext, softirqInSoftirq: res.softirq.inContext, roundsAtLeast1: rounds >= 1 },
    `${sourceNote(res)}: ${res.hardirq.runs} interrupts in ${ms(res.hardirq.ns)}; ${res.softirq.runs} tasklet runs; process loop ${rounds} rounds in ${ms(res.process.ns)}`,
  );
}

/**
 * The claim needs the interrupts inside the process loop: one that came on
 * its CPU while the loop's kthread was running it (on_process) may split a
 * dev_hold()'s increment. None at all means nothing was tested. On
 * PREEMPT_RT softirqs run in a thread of their own (kernel/softirq.c), so
 * the tasklet's puts preempt the loop and never interrupt it: there they
 * must have run while the loop was preempted inside (during_process), which
 * is the race a raw_cpu_inc() loses on RT.
 */
export function checkRaceHappened(steps: Steps, res: IrqResult): void {
  const landed = (what: string, n: number, of: number, how = 'interrupted'): true | string =>
    n > 0 || `no: none of the ${of} ${what} ${how} the process loop: the race did not happen`;
  const threaded = res.softirq.threaded;
  steps.checkValue(
    threaded
      ? 'irq: the hardirq holds landed inside the process-context loop, the threaded softirq puts (PREEMPT_RT) preempted it (the race happened)'
      : 'irq: the interrupts landed inside the process-context loop (the race happened)',
    { hardirqHoldsInsideLoop: true, softirqPutsInsideLoop: true },
    {
      hardirqHoldsInsideLoop: landed('hardirq holds', res.hardirq.onProcess, res.hardirq.ops),
      softirqPutsInsideLoop: threaded
        ? landed('softirq puts', res.softirq.duringProcess, res.softirq.ops, 'preempted')
        : landed('softirq puts', res.softirq.onProcess, res.softirq.ops),
    },
    `interrupting the loop: ${res.hardirq.onProcess} of ${res.hardirq.ops} hardirq holds, ${res.softirq.onProcess} of ${res.softirq.ops} softirq puts; ` +
      `while it was running or preempted: ${res.hardirq.duringProcess} and ${res.softirq.duringProcess}${threaded ? ' (softirqs are threaded: PREEMPT_RT)' : ''}`,
  );
}

/** Back to the baseline, on the run's CPU, in puts the module accepts (max_count each). */
async function putBack(ctx: ScenarioContext, dev: DeviceModel, cpu: number, left: number): Promise<void> {
  let puts = 0;
  for (let n = left; n > 0; ) {
    const count = Math.min(n, ctx.info.maxCount);
    await ctx.probe.must(`put ${dev.name} ${cpu} ${count}`);
    dev.put(cpu, count);
    n -= count;
    puts++;
  }
  await ctx.steps.check(`irq: every reference the race left put back on CPU ${cpu}`, dev, { cpu, note: `${left} in ${puts} puts` });
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(1)} ms`;
}
