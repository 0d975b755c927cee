// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrent references, two ways:
 *
 * stress: every online CPU runs its own stream of holds and puts on one
 * device at once, drawn from a xorshift32 generator seeded by (seed, CPU).
 * The harness runs the same generator (src/model/prng.ts), so it predicts
 * every CPU's counter exactly, whatever the interleaving.
 *
 * race: one CPU holds, another puts what was held, a third calls
 * netdev_refcnt_read() in a loop. The true count stays within
 * [base, base + window + 2]; the readings are kept as min, max and how many
 * fell outside that range, which a sum that is no snapshot can do.
 *
 * Every worker is a kthread bound to its CPU that calls cond_resched()
 * often: a kthread spinning without it starves its CPU on a voluntary
 * preemption kernel and hangs the guest.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/kthread.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "refprobe.h"

#define STRESS_RESCHED_EVERY	1024

static unsigned int worker_timeout_ms = 120000;
module_param(worker_timeout_ms, uint, 0444);
MODULE_PARM_DESC(worker_timeout_ms,
		 "How long stress, race and irq wait for their workers before stopping them (10-600000 ms)");

struct stress_result {
	bool ran;
	u32 holds;
	u32 puts;
	u64 start_ns;
	u64 end_ns;
};

struct stress_run {
	struct net_device *dev;
	u32 seed;
	u32 ops;
	/* How many references one stream may hold at most. */
	u32 cap;
	bool hold_twice;
	/* Set when the command stops waiting: workers finish early. */
	bool abort;
	atomic_t running;
	struct completion done;
	struct stress_result res[];
};

/*
 * Waits for workers (at most worker_timeout_ms), then tells them to stop and
 * joins every one, so no worker outlives the command that started it, even
 * after a timeout: the device and the module stay safe to free. Each task
 * was pinned with get_task_struct() when created. Returns -ETIMEDOUT if the
 * workers had to be stopped early. Also irq.c's.
 */
int refprobe_workers_join(struct completion *done, bool *abort, struct task_struct **tasks, int n)
{
	unsigned int ms = clamp(worker_timeout_ms, 10U, 600000U);
	int ret = 0, i;

	if (!wait_for_completion_timeout(done, msecs_to_jiffies(ms))) {
		pr_err("workers did not finish in %u ms: stopping them\n", ms);
		ret = -ETIMEDOUT;
	}
	WRITE_ONCE(*abort, true);
	for (i = 0; i < n; i++) {
		kthread_stop(tasks[i]);
		put_task_struct(tasks[i]);
	}
	return ret;
}

/* Creates a worker bound to @cpu and pins it for refprobe_workers_join(). */
struct task_struct *refprobe_worker_create(int (*fn)(void *), void *arg, unsigned int cpu,
					   const char *name)
{
	struct task_struct *t = kthread_create_on_cpu(fn, arg, cpu, name);

	if (!IS_ERR(t))
		get_task_struct(t);
	return t;
}

/* The last run's results, shown in the stress file (under stress_lock). */
static DEFINE_MUTEX(stress_lock);
static struct stress_run *stress_last;

/* The same mixing as src/model/prng.ts: murmur3's finaliser over seed and CPU. */
static u32 stress_seed(u32 seed, unsigned int cpu)
{
	u32 x = seed ^ ((cpu + 1) * 0x9e3779b9u);

	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x ?: 1;
}

static u32 stress_next(u32 *state)
{
	u32 x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static int stress_worker(void *arg)
{
	struct stress_run *run = arg;
	struct stress_result *res = &run->res[smp_processor_id()];
	u32 state = stress_seed(run->seed, smp_processor_id());
	u32 held = 0, i;

	res->start_ns = ktime_get_ns();
	for (i = 0; i < run->ops && !READ_ONCE(run->abort); i++) {
		/*
		 * Three holds in four below the cap: a stream climbs to its cap
		 * and rides it, so a large cap drives every counter (and the
		 * sum) far beyond 16 bits while the CPUs run at once.
		 */
		if (held == 0 || (held < run->cap && (stress_next(&state) & 3))) {
			dev_hold(run->dev);
			if (run->hold_twice)
				dev_hold(run->dev);
			held++;
			res->holds++;
		} else {
			dev_put(run->dev);
			held--;
			res->puts++;
		}
		if (i % STRESS_RESCHED_EVERY == 0)
			cond_resched();
	}
	res->end_ns = ktime_get_ns();
	if (atomic_dec_and_test(&run->running))
		complete(&run->done);
	return 0;
}

/* Creates one bound worker per online CPU; returns how many. */
static int stress_spawn(struct stress_run *run, struct task_struct **tasks)
{
	unsigned int cpu;
	int n = 0;

	for_each_online_cpu(cpu) {
		tasks[n] = refprobe_worker_create(stress_worker, run, cpu, "refprobe-stress/%u");
		if (IS_ERR(tasks[n]))
			return PTR_ERR(tasks[n]);
		run->res[cpu].ran = true;
		n++;
	}
	return n;
}

long refprobe_stress_run(struct net_device *dev, u32 seed, u32 ops, u32 cap, bool hold_twice,
			 long *refs_out)
{
	struct task_struct **tasks;
	struct stress_run *run;
	unsigned int cpu;
	long refs = 0;
	int n, i, ret = 0;

	run = kzalloc(struct_size(run, res, nr_cpu_ids), GFP_KERNEL);
	tasks = kcalloc(nr_cpu_ids, sizeof(*tasks), GFP_KERNEL);
	if (!run || !tasks) {
		refs = -ENOMEM;
		goto out_free;
	}
	run->dev = dev;
	run->seed = seed;
	run->ops = ops;
	run->cap = cap;
	run->hold_twice = hold_twice;
	init_completion(&run->done);

	/* No CPU may come or go while the streams run. */
	cpus_read_lock();
	mutex_lock(&stress_lock);
	n = stress_spawn(run, tasks);
	if (n < 0) {
		/* Created but never woken: they stop without running. */
		for (i = 0; i < (int)nr_cpu_ids && tasks[i] && !IS_ERR(tasks[i]); i++) {
			kthread_stop(tasks[i]);
			put_task_struct(tasks[i]);
		}
		refs = n;
		goto out_unlock;
	}
	atomic_set(&run->running, n);
	for (i = 0; i < n; i++)
		wake_up_process(tasks[i]);
	ret = refprobe_workers_join(&run->done, &run->abort, tasks, n);
	/* Exact even after a timeout: each stream counted what it did. */
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		refs += (long)run->res[cpu].holds * (hold_twice ? 2 : 1) - run->res[cpu].puts;
	kfree(stress_last);
	stress_last = run;
	run = NULL;
out_unlock:
	mutex_unlock(&stress_lock);
	cpus_read_unlock();
out_free:
	kfree(tasks);
	kfree(run);
	if (refs < 0)
		return refs;
	*refs_out = refs;
	return ret;
}

static int stress_show(struct seq_file *m, void *v)
{
	const struct stress_result *r;
	unsigned int cpu;

	mutex_lock(&stress_lock);
	if (stress_last) {
		seq_printf(m, "seed %u ops %u cap %u\n", stress_last->seed, stress_last->ops,
			   stress_last->cap);
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			r = &stress_last->res[cpu];
			if (r->ran)
				seq_printf(m, "cpu %u holds %u puts %u start_ns %llu end_ns %llu\n",
					   cpu, r->holds, r->puts, r->start_ns, r->end_ns);
		}
	}
	mutex_unlock(&stress_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stress);

/* ---- race: a reader against a holder and a putter ---- */

struct race_run {
	struct net_device *dev;
	u32 ops;
	u32 window;
	int base;
	bool abort;
	atomic_t outstanding;
	atomic_t writers;
	atomic_t running;
	struct completion done;
	/* Results. */
	u32 reads;
	u32 outside;
	int min;
	int max;
};

static DEFINE_MUTEX(race_lock);
static struct race_run race_last;
static bool race_valid;

static void race_finish(struct race_run *run)
{
	if (atomic_dec_and_test(&run->running))
		complete(&run->done);
}

static int race_holder(void *arg)
{
	struct race_run *run = arg;
	u32 i;

	for (i = 0; i < run->ops; i++) {
		while (atomic_read(&run->outstanding) >= run->window) {
			if (READ_ONCE(run->abort))
				goto out;
			cpu_relax();
			cond_resched();
		}
		dev_hold(run->dev);
		atomic_inc(&run->outstanding);
		if (i % STRESS_RESCHED_EVERY == 0)
			cond_resched();
	}
out:
	atomic_dec(&run->writers);
	race_finish(run);
	return 0;
}

static int race_putter(void *arg)
{
	struct race_run *run = arg;
	u32 i;

	for (i = 0; i < run->ops; i++) {
		while (!atomic_add_unless(&run->outstanding, -1, 0)) {
			if (READ_ONCE(run->abort))
				goto out;
			cpu_relax();
			cond_resched();
		}
		dev_put(run->dev);
		if (i % STRESS_RESCHED_EVERY == 0)
			cond_resched();
	}
out:
	atomic_dec(&run->writers);
	race_finish(run);
	return 0;
}

static int race_reader(void *arg)
{
	struct race_run *run = arg;
	int hi = run->base + run->window + 2;
	int v;

	/* At least one reading, even if the writers finished first. */
	do {
		v = netdev_refcnt_read(run->dev);
		run->reads++;
		run->min = min(run->min, v);
		run->max = max(run->max, v);
		if (v < run->base || v > hi)
			run->outside++;
		if ((run->reads & (STRESS_RESCHED_EVERY - 1)) == 0)
			cond_resched();
	} while (atomic_read(&run->writers) && !READ_ONCE(run->abort));
	race_finish(run);
	return 0;
}

long refprobe_race_run(struct net_device *dev, const unsigned int *cpus, u32 ops, u32 window)
{
	static int (*const fns[3])(void *) = { race_holder, race_putter, race_reader };
	struct task_struct *tasks[3];
	struct race_run *run = &race_last;
	long ret = 0;
	int i;

	cpus_read_lock();
	mutex_lock(&race_lock);
	/* Checked by the caller, but a CPU may have gone since: now none can. */
	for (i = 0; i < 3; i++) {
		if (!cpu_online(cpus[i])) {
			ret = -ENXIO;
			goto out;
		}
	}
	memset(run, 0, sizeof(*run));
	run->dev = dev;
	run->ops = ops;
	run->window = window;
	run->base = netdev_refcnt_read(dev);
	run->min = INT_MAX;
	run->max = INT_MIN;
	atomic_set(&run->writers, 2);
	atomic_set(&run->running, 3);
	init_completion(&run->done);
	race_valid = false;
	for (i = 0; i < 3; i++) {
		tasks[i] = refprobe_worker_create(fns[i], run, cpus[i], "refprobe-race/%u");
		if (IS_ERR(tasks[i])) {
			ret = PTR_ERR(tasks[i]);
			while (i--) {
				kthread_stop(tasks[i]);
				put_task_struct(tasks[i]);
			}
			goto out;
		}
	}
	for (i = 0; i < 3; i++)
		wake_up_process(tasks[i]);
	ret = refprobe_workers_join(&run->done, &run->abort, tasks, 3);
	/* After an early stop the holder may be ahead of the putter: give those back. */
	for (i = atomic_read(&run->outstanding); i > 0; i--)
		dev_put(dev);
	race_valid = !ret;
out:
	mutex_unlock(&race_lock);
	cpus_read_unlock();
	return ret;
}

static int race_show(struct seq_file *m, void *v)
{
	mutex_lock(&race_lock);
	if (race_valid)
		seq_printf(m, "ops %u window %u base %d reads %u min %d max %d outside %u\n",
			   race_last.ops, race_last.window, race_last.base, race_last.reads,
			   race_last.min, race_last.max, race_last.outside);
	mutex_unlock(&race_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(race);

int refprobe_stress_init(struct dentry *dir)
{
	debugfs_create_file("stress", 0444, dir, NULL, &stress_fops);
	debugfs_create_file("race", 0444, dir, NULL, &race_fops);
	return 0;
}

void refprobe_stress_exit(void)
{
	kfree(stress_last);
	stress_last = NULL;
}
