// SPDX-License-Identifier: GPL-2.0
/*
 * irq: references taken and dropped in interrupt context while process
 * context takes and drops them on the same CPU, as the packet path does.
 *
 * On one CPU, interrupts come about as fast as the CPU takes them: IPIs sent
 * from another CPU (smp_call_function_single), or where there is none a
 * pinned hrtimer every IRQ_TIMER_PERIOD_NS (which a kernel without
 * CONFIG_HIGH_RES_TIMERS fires only on its tick). Each interrupt takes one reference in hard
 * interrupt context and, keeping pace SOFT for HARD, schedules a tasklet that
 * drops one in softirq context; a put never runs before its hold. Meanwhile a
 * kthread bound to that CPU, with interrupts enabled, runs rounds of holds and
 * puts (its balance never below zero) until the interrupts are done, so they
 * land between any two of its instructions. The sending CPU reads the count
 * between its IPIs.
 *
 * Every operation is counted in the context it ran in, and the harness
 * predicts every counter from those counts (src/model/irq.ts): a dev_hold()
 * whose per-CPU increment is a load, an add and a store (raw_cpu_inc() on a
 * load/store architecture) loses the interrupt's update when the interrupt
 * lands in between, and the counter parts from the prediction.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include <linux/string.h>

#include "refprobe.h"

/*
 * The gap between one IPI handled and the next sent: shorter than an
 * interrupt costs under TCG, so they come about as fast as the CPU takes them.
 */
#define IRQ_IPI_GAP_NS		10000
/* The timer's period: long enough that each firing is an interrupt of its own under TCG. */
#define IRQ_TIMER_PERIOD_NS	100000
#define IRQ_RESCHED_EVERY	1024
/* What the process side's rounds may leave held: no counter comes near overflow. */
#define IRQ_MAX_PROC_HELD	100000000ULL

/* What one interrupt context did. */
struct irq_side {
	/* Holds (hardirq) or puts (softirq) done. */
	u32 ops;
	/* Interrupts or tasklet runs, with or without an operation. */
	u32 runs;
	/* Operations that ran where in_hardirq() or in_serving_softirq() says they did. */
	u32 in_ctx;
	/* Operations that interrupted the process-context loop itself (current was its kthread). */
	u32 on_process;
	/* Operations done while the kthread was inside its loop, running or not. */
	u32 during;
};

struct irq_run {
	struct net_device *dev;
	struct refprobe_irq_args args;
	int base;
	/* Set when the command stops waiting: every side finishes early. */
	bool abort;
	bool timed_out;
	struct hrtimer timer;
	struct tasklet_struct tasklet;
	struct task_struct *process;
	/* The process loop has started: the sender waits for it. */
	bool started;
	/* The process kthread is inside its loop now. */
	bool in_loop;
	/* The interrupts' work is done (or abandoned): no more holds, no more tasklets. */
	bool irq_done;
	u64 start_ns;
	/* The interrupts and the process kthread; the sending CPU reads until both are done. */
	atomic_t writers;
	atomic_t running;
	struct completion done;
	struct irq_side hardirq;
	struct irq_side softirq;
	/* From the process loop's start to the interrupts' end. */
	u64 irq_ns;
	u64 proc_holds;
	u64 proc_puts;
	u32 rounds;
	u64 proc_ns;
	u32 reads;
	int min;
	int max;
};

/* The last run, shown in the irq file (under irq_lock). */
static DEFINE_MUTEX(irq_lock);
static struct irq_run irq_last;
static bool irq_valid;

static void irq_finish(struct irq_run *run)
{
	if (atomic_dec_and_test(&run->running))
		complete(&run->done);
}

static void irq_tally(struct irq_run *run, struct irq_side *side, bool in_ctx)
{
	bool during = READ_ONCE(run->in_loop);

	side->in_ctx += in_ctx;
	side->during += during;
	side->on_process += during && current == run->process;
}

/*
 * One interrupt on args.cpu, in hard interrupt context: a hold, and a put
 * scheduled. Returns true once all of them are done (or the run is stopping).
 */
static bool irq_hard(struct irq_run *run)
{
	u32 puts = READ_ONCE(run->softirq.ops);
	u32 holds = run->hardirq.ops;

	if (READ_ONCE(run->abort))
		return true;
	run->hardirq.runs++;
	if (holds < run->args.hard) {
		dev_hold(run->dev);
		if (run->args.hold_twice)
			dev_hold(run->dev);
		irq_tally(run, &run->hardirq, in_hardirq());
		WRITE_ONCE(run->hardirq.ops, ++holds);
	}
	/* Puts keep pace with holds, SOFT for HARD, so both spread over the whole run. */
	if (puts < run->args.soft && (u64)puts * run->args.hard < (u64)holds * run->args.soft)
		tasklet_schedule(&run->tasklet);
	return holds == run->args.hard && puts == run->args.soft;
}

/* The interrupts are over: the process loop may stop, and the run may end. */
static void irq_side_done(struct irq_run *run)
{
	run->irq_ns = ktime_get_ns() - run->start_ns;
	WRITE_ONCE(run->irq_done, true);
	atomic_dec(&run->writers);
	irq_finish(run);
}

/* The timer source, on args.cpu. */
static enum hrtimer_restart irq_timer(struct hrtimer *timer)
{
	struct irq_run *run = container_of(timer, struct irq_run, timer);

	if (irq_hard(run)) {
		irq_side_done(run);
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(timer, ns_to_ktime(IRQ_TIMER_PERIOD_NS));
	return HRTIMER_RESTART;
}

/* The IPI source: smp_call_function_single() runs it on args.cpu. */
static void irq_ipi(void *arg)
{
	struct irq_run *run = arg;

	if (irq_hard(run))
		WRITE_ONCE(run->irq_done, true);
}

/* Softirq context, on args.cpu: scheduled from irq_hard(), so never on another CPU. */
static void irq_tasklet(struct tasklet_struct *t)
{
	struct irq_run *run = from_tasklet(run, t, tasklet);
	u32 puts = run->softirq.ops;

	run->softirq.runs++;
	/* Only the interrupts' own references: never more puts than holds so far. */
	if (puts >= run->args.soft || puts >= READ_ONCE(run->hardirq.ops))
		return;
	dev_put(run->dev);
	irq_tally(run, &run->softirq, in_serving_softirq());
	WRITE_ONCE(run->softirq.ops, puts + 1);
}

/*
 * One round of PHOLD holds and PPUT puts: a put whenever the puts fall behind
 * PPUT for PHOLD, else a hold, so the balance never goes below zero and
 * peaks at PHOLD - PPUT + 1 (src/model/irq.ts runs the same rule).
 */
static void irq_round(struct irq_run *run)
{
	u32 phold = run->args.phold, pput = run->args.pput;
	u32 h = 0, p = 0;

	while (h + p < phold + pput && !READ_ONCE(run->abort)) {
		if (p < pput && (u64)p * phold < (u64)h * pput) {
			dev_put(run->dev);
			p++;
		} else {
			dev_hold(run->dev);
			if (run->args.hold_twice)
				dev_hold(run->dev);
			h++;
		}
		if ((h + p) % IRQ_RESCHED_EVERY == 0)
			cond_resched();
	}
	run->proc_holds += h;
	run->proc_puts += p;
}

/* Process context, bound to args.cpu, interrupts on. */
static int irq_process(void *arg)
{
	struct irq_run *run = arg;

	run->start_ns = ktime_get_ns();
	WRITE_ONCE(run->in_loop, true);
	WRITE_ONCE(run->started, true);
	/* Started from this CPU and pinned: every firing lands here, into the loop below. */
	if (run->args.from_cpu < 0)
		hrtimer_start(&run->timer, ns_to_ktime(IRQ_TIMER_PERIOD_NS),
			      HRTIMER_MODE_REL_PINNED_HARD);
	/* Rounds until the interrupts are done, so the loop covers all of them. */
	do {
		irq_round(run);
		run->rounds++;
	} while (!READ_ONCE(run->irq_done) && !READ_ONCE(run->abort) &&
		 run->proc_holds - run->proc_puts + run->args.phold <= IRQ_MAX_PROC_HELD);
	WRITE_ONCE(run->in_loop, false);
	run->proc_ns = ktime_get_ns() - run->start_ns;
	atomic_dec(&run->writers);
	irq_finish(run);
	return 0;
}

static void irq_read(struct irq_run *run)
{
	int v = netdev_refcnt_read(run->dev);

	run->reads++;
	run->min = min(run->min, v);
	run->max = max(run->max, v);
	if ((run->reads & (IRQ_RESCHED_EVERY - 1)) == 0)
		cond_resched();
}

/*
 * The sending CPU: from the moment the process loop starts until the
 * interrupts are done, an IPI to args.cpu, and IRQ_IPI_GAP_NS after it was
 * handled the next one, reading the count in between; then it reads on until
 * the process loop is done too.
 */
static int irq_sender(void *arg)
{
	struct irq_run *run = arg;
	u64 next;
	u32 n = 0;

	while (!READ_ONCE(run->started) && !READ_ONCE(run->abort))
		cond_resched();
	while (!READ_ONCE(run->irq_done) && !READ_ONCE(run->abort)) {
		smp_call_function_single(run->args.cpu, irq_ipi, run, 1);
		next = ktime_get_ns() + IRQ_IPI_GAP_NS;
		do
			irq_read(run);
		while (ktime_get_ns() < next);
		if (++n % IRQ_RESCHED_EVERY == 0)
			cond_resched();
	}
	irq_side_done(run);
	/* At least one reading, even if everything was done before the first. */
	do
		irq_read(run);
	while (atomic_read(&run->writers) && !READ_ONCE(run->abort));
	irq_finish(run);
	return 0;
}

static void irq_setup(struct irq_run *run, struct net_device *dev,
		      const struct refprobe_irq_args *args)
{
	memset(run, 0, sizeof(*run));
	run->dev = dev;
	run->args = *args;
	run->base = netdev_refcnt_read(dev);
	run->min = INT_MAX;
	run->max = INT_MIN;
	/* The interrupts (timer or sender) and the process loop. */
	atomic_set(&run->writers, 2);
	/* Those two, and the sender's reading after the interrupts. */
	atomic_set(&run->running, args->from_cpu < 0 ? 2 : 3);
	init_completion(&run->done);
	hrtimer_init(&run->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	run->timer.function = irq_timer;
	tasklet_setup(&run->tasklet, irq_tasklet);
}

/* Creates the process kthread and the sender; on failure none is left. */
static int irq_spawn(struct irq_run *run, struct task_struct **tasks)
{
	tasks[0] = refprobe_worker_create(irq_process, run, run->args.cpu, "refprobe-irq/%u");
	if (IS_ERR(tasks[0]))
		return PTR_ERR(tasks[0]);
	run->process = tasks[0];
	if (run->args.from_cpu < 0)
		return 1;
	tasks[1] = refprobe_worker_create(irq_sender, run, run->args.from_cpu,
					  "refprobe-ipi/%u");
	if (!IS_ERR(tasks[1]))
		return 2;
	/* Created but never woken: it stops without running. */
	kthread_stop(tasks[0]);
	put_task_struct(tasks[0]);
	return PTR_ERR(tasks[1]);
}

long refprobe_irq_run(struct net_device *dev, const struct refprobe_irq_args *args, long *refs)
{
	struct irq_run *run = &irq_last;
	struct task_struct *tasks[2];
	int n, i, twice;
	long ret;

	/* No CPU may come or go while the run is on: the timer stays where it was started. */
	cpus_read_lock();
	mutex_lock(&irq_lock);
	/* Checked by the caller, but a CPU may have gone since: now none can. */
	if (!cpu_online(args->cpu) || (args->from_cpu >= 0 && !cpu_online(args->from_cpu))) {
		ret = -ENXIO;
		goto out;
	}
	irq_valid = false;
	irq_setup(run, dev, args);
	n = irq_spawn(run, tasks);
	if (n < 0) {
		ret = n;
		goto out;
	}
	for (i = 0; i < n; i++)
		wake_up_process(tasks[i]);
	ret = refprobe_workers_join(&run->done, &run->abort, tasks, n);
	/*
	 * After a timeout the timer may still be queued. Once it is cancelled and
	 * the sender has stopped, nothing schedules the tasklet again.
	 */
	hrtimer_cancel(&run->timer);
	tasklet_kill(&run->tasklet);
	run->timed_out = ret == -ETIMEDOUT;
	/* Exact even after a timeout: every side counted what it did, and all have stopped. */
	twice = args->hold_twice ? 2 : 1;
	*refs = (long)(run->hardirq.ops + run->proc_holds) * twice -
		(long)(run->softirq.ops + run->proc_puts);
	irq_valid = true;
out:
	mutex_unlock(&irq_lock);
	cpus_read_unlock();
	return ret;
}

static int irq_show(struct seq_file *m, void *v)
{
	const struct irq_run *r = &irq_last;

	mutex_lock(&irq_lock);
	if (!irq_valid)
		goto out;
	seq_printf(m, "cpu %u hard %u soft %u phold %u pput %u base %d timed_out %d\n",
		   r->args.cpu, r->args.hard, r->args.soft, r->args.phold, r->args.pput,
		   r->base, r->timed_out);
	if (r->args.from_cpu < 0)
		seq_printf(m, "source timer period_ns %u resolution_ns %u\n", IRQ_TIMER_PERIOD_NS,
			   hrtimer_resolution);
	else
		seq_printf(m, "source ipi from %d gap_ns %u\n", r->args.from_cpu, IRQ_IPI_GAP_NS);
	seq_printf(m, "hardirq holds %u interrupts %u in_hardirq %u on_process %u during_process %u ns %llu\n",
		   r->hardirq.ops, r->hardirq.runs, r->hardirq.in_ctx, r->hardirq.on_process,
		   r->hardirq.during, r->irq_ns);
	/* PREEMPT_RT runs softirqs in a thread of their own: they preempt the loop, never interrupt it. */
	seq_printf(m, "softirq puts %u runs %u in_softirq %u on_process %u during_process %u threaded %d\n",
		   r->softirq.ops, r->softirq.runs, r->softirq.in_ctx, r->softirq.on_process,
		   r->softirq.during, IS_ENABLED(CONFIG_PREEMPT_RT));
	seq_printf(m, "process holds %llu puts %llu rounds %u ns %llu\n",
		   r->proc_holds, r->proc_puts, r->rounds, r->proc_ns);
	if (r->args.from_cpu < 0)
		seq_puts(m, "reader none\n");
	else
		seq_printf(m, "reader cpu %d reads %u min %d max %d\n", r->args.from_cpu,
			   r->reads, r->reads ? r->min : 0, r->reads ? r->max : 0);
out:
	mutex_unlock(&irq_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(irq);

int refprobe_irq_init(struct dentry *dir)
{
	debugfs_create_file("irq", 0444, dir, NULL, &irq_fops);
	return 0;
}
