// SPDX-License-Identifier: GPL-2.0
/*
 * The hold/put microbenchmark: what the per-CPU counter buys.
 *
 * On each of the first CPUS online CPUs a bound kthread runs reference
 * "pairs" (one increment and one decrement) for MSEC milliseconds, all on one
 * shared object, and counts them. The modes are the running kernel's real
 * dev_hold()/dev_put() on a device of our own (allocated, never registered),
 * the pre-2010 atomic_t on one shared counter, a refcount_t on one shared
 * counter (what CONFIG_PCPU_DEV_REFCNT=n uses) and a this_cpu_inc/dec on a
 * per-CPU counter of our own (the 2010 scheme, whatever the kernel's config).
 * kmod/README.md documents the files and commands.
 *
 * Every loop calls cond_resched(): on a kernel with voluntary preemption a
 * kthread that spins without it starves its CPU and hangs the machine.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": bench: " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/etherdevice.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "refprobe.h"

#define BENCH_CMD_MAX		64
#define BENCH_MAX_MSEC		5000
/* Pairs between two looks at the clock: long enough to hide ktime_get_ns(). */
#define BENCH_BATCH		1024
/* Workers start together this long after the last one was created. */
#define BENCH_LEAD_MS		20
/* How long past the planned end a worker may take before the run is failed. */
#define BENCH_GRACE_MS		10000

enum bench_mode {
	BENCH_DEV_HOLD,
	BENCH_ATOMIC,
	BENCH_REFCOUNT,
	BENCH_PERCPU,
	BENCH_NR_MODES,
};

static const char *const bench_mode_names[BENCH_NR_MODES] = {
	[BENCH_DEV_HOLD] = "dev_hold",
	[BENCH_ATOMIC] = "atomic",
	[BENCH_REFCOUNT] = "refcount",
	[BENCH_PERCPU] = "percpu",
};

struct bench_run;

struct bench_worker {
	struct bench_run *run;
	struct task_struct *task;
	struct completion done;
	unsigned int cpu;
	u64 pairs;
	u64 ns;
};

/* One run: what every worker reads, and the results they leave. */
struct bench_run {
	enum bench_mode mode;
	unsigned int nr_cpus;
	unsigned int msec;
	u64 start_ns;
	u64 end_ns;
	bool abort;
	struct bench_worker workers[];
};

/* The shared counters, each on its own cache line as a real one would be. */
static struct {
	atomic_t count ____cacheline_aligned_in_smp;
	refcount_t ref ____cacheline_aligned_in_smp;
} bench_shared;

static int __percpu *bench_pcpu;
static struct net_device *bench_dev;

/* Serialises runs and protects the last result and error. */
static DEFINE_MUTEX(bench_lock);
static struct bench_run *bench_last;
static char bench_errmsg[128];
static struct dentry *bench_dir;

static int bench_fail(int err, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vscnprintf(bench_errmsg, sizeof(bench_errmsg), fmt, args);
	va_end(args);
	return err;
}

/* ---- the workers ---- */

static void bench_batch(enum bench_mode mode)
{
	int i;

	switch (mode) {
	case BENCH_DEV_HOLD:
		for (i = 0; i < BENCH_BATCH; i++) {
			dev_hold(bench_dev);
			dev_put(bench_dev);
		}
		break;
	case BENCH_ATOMIC:
		for (i = 0; i < BENCH_BATCH; i++) {
			atomic_inc(&bench_shared.count);
			atomic_dec(&bench_shared.count);
		}
		break;
	case BENCH_REFCOUNT:
		for (i = 0; i < BENCH_BATCH; i++) {
			refcount_inc(&bench_shared.ref);
			refcount_dec(&bench_shared.ref);
		}
		break;
	case BENCH_PERCPU:
		for (i = 0; i < BENCH_BATCH; i++) {
			this_cpu_inc(*bench_pcpu);
			this_cpu_dec(*bench_pcpu);
		}
		break;
	default:
		break;
	}
}

static int bench_worker_fn(void *arg)
{
	struct bench_worker *w = arg;
	const struct bench_run *run = w->run;
	u64 start, now;

	/* A bounded wait for the common start: the clock always gets there. */
	while (ktime_get_ns() < run->start_ns)
		cond_resched();
	start = ktime_get_ns();
	do {
		bench_batch(run->mode);
		w->pairs += BENCH_BATCH;
		cond_resched();
		now = ktime_get_ns();
	} while (now < run->end_ns && !READ_ONCE(run->abort));
	w->ns = now - start;
	complete(&w->done);
	return 0;
}

/* ---- one run ---- */

static struct bench_run *bench_alloc_run(enum bench_mode mode, unsigned int nr_cpus,
					 unsigned int msec)
{
	struct bench_run *run;
	unsigned int cpu, i = 0;

	run = kzalloc(struct_size(run, workers, nr_cpus), GFP_KERNEL);
	if (!run)
		return NULL;
	run->mode = mode;
	run->nr_cpus = nr_cpus;
	run->msec = msec;
	for_each_online_cpu(cpu) {
		if (i == nr_cpus)
			break;
		run->workers[i].run = run;
		run->workers[i].cpu = cpu;
		init_completion(&run->workers[i].done);
		i++;
	}
	return run;
}

static void bench_stop_workers(struct bench_run *run, unsigned int n)
{
	unsigned int i;

	WRITE_ONCE(run->abort, true);
	for (i = 0; i < n; i++) {
		/* Also safe on a worker that has returned: we hold its task. */
		kthread_stop(run->workers[i].task);
		put_task_struct(run->workers[i].task);
	}
}

/* Called with the CPUs held online (cpus_read_lock). */
static int bench_execute(struct bench_run *run)
{
	unsigned long timeout;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < run->nr_cpus; i++) {
		struct bench_worker *w = &run->workers[i];

		w->task = kthread_create_on_cpu(bench_worker_fn, w, w->cpu, "refprobe_bench/%u");
		if (IS_ERR(w->task)) {
			ret = bench_fail(PTR_ERR(w->task), "run: cannot start a worker on CPU %u",
					 w->cpu);
			bench_stop_workers(run, i);
			return ret;
		}
		get_task_struct(w->task);
	}
	run->start_ns = ktime_get_ns() + (u64)BENCH_LEAD_MS * NSEC_PER_MSEC;
	run->end_ns = run->start_ns + (u64)run->msec * NSEC_PER_MSEC;
	for (i = 0; i < run->nr_cpus; i++)
		wake_up_process(run->workers[i].task);

	timeout = msecs_to_jiffies(BENCH_LEAD_MS + run->msec + BENCH_GRACE_MS);
	for (i = 0; i < run->nr_cpus; i++) {
		timeout = wait_for_completion_timeout(&run->workers[i].done, timeout);
		if (!timeout) {
			ret = bench_fail(-ETIMEDOUT, "run: the worker on CPU %u did not finish within %u ms of the planned end",
					 run->workers[i].cpu, BENCH_GRACE_MS);
			break;
		}
	}
	bench_stop_workers(run, run->nr_cpus);
	return ret;
}

/* ---- the ctl file: "run MODE CPUS MSEC" ---- */

static int bench_parse_mode(const char *arg, enum bench_mode *mode)
{
	int i;

	for (i = 0; i < BENCH_NR_MODES; i++) {
		if (!strcmp(arg, bench_mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return bench_fail(-EINVAL, "run: unknown mode '%s' (dev_hold, atomic, refcount, percpu)",
			  arg);
}

static int bench_parse_uint(const char *what, const char *arg, unsigned int max,
			    unsigned int *val)
{
	if (kstrtouint(arg, 10, val) || *val == 0)
		return bench_fail(-EINVAL, "run: %s '%s' is not a positive integer", what, arg);
	if (*val > max)
		return bench_fail(-ERANGE, "run: %s %u is above %u", what, *val, max);
	return 0;
}

static int bench_cmd_run(char **argv)
{
	struct bench_run *run;
	enum bench_mode mode;
	unsigned int nr_cpus, msec;
	int ret;

	ret = bench_parse_mode(argv[0], &mode);
	if (ret)
		return ret;
	ret = bench_parse_uint("MSEC", argv[2], BENCH_MAX_MSEC, &msec);
	if (ret)
		return ret;

	cpus_read_lock();
	ret = bench_parse_uint("CPUS", argv[1], num_online_cpus(), &nr_cpus);
	if (ret)
		goto out_unlock;
	run = bench_alloc_run(mode, nr_cpus, msec);
	if (!run) {
		ret = bench_fail(-ENOMEM, "run: out of memory");
		goto out_unlock;
	}
	ret = bench_execute(run);
	if (ret) {
		kfree(run);
		goto out_unlock;
	}
	kfree(bench_last);
	bench_last = run;
out_unlock:
	cpus_read_unlock();
	return ret;
}

static int bench_dispatch(char *line)
{
	char *argv[4];
	char *tok;
	int argc = 0;

	while ((tok = strsep(&line, " \t")) != NULL) {
		if (!*tok)
			continue;
		if (argc == ARRAY_SIZE(argv))
			return bench_fail(-EINVAL, "ctl: too many words (usage: run MODE CPUS MSEC)");
		argv[argc++] = tok;
	}
	if (argc == 0)
		return bench_fail(-EINVAL, "ctl: empty command");
	if (strcmp(argv[0], "run"))
		return bench_fail(-EINVAL, "ctl: unknown command '%s' (usage: run MODE CPUS MSEC)",
				  argv[0]);
	if (argc != 4)
		return bench_fail(-EINVAL, "run: usage: run MODE CPUS MSEC");
	return bench_cmd_run(argv + 1);
}

static ssize_t bench_ctl_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char *line;
	int ret;

	mutex_lock(&bench_lock);
	if (len == 0 || len >= BENCH_CMD_MAX) {
		ret = bench_fail(-EINVAL, "ctl: a command is 1 to %d bytes", BENCH_CMD_MAX - 1);
		goto out_unlock;
	}
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line)) {
		ret = PTR_ERR(line);
		goto out_unlock;
	}
	ret = bench_dispatch(strim(line));
	if (!ret)
		bench_errmsg[0] = '\0';
	kfree(line);
out_unlock:
	mutex_unlock(&bench_lock);
	return ret ?: len;
}

static const struct file_operations bench_ctl_fops = {
	.owner = THIS_MODULE,
	.write = bench_ctl_write,
	.llseek = noop_llseek,
};

/* ---- the result and error files ---- */

static int bench_refcnt(void)
{
	/* Back to 1 (alloc_netdev's own reference) if every hold was put. */
	return netdev_refcnt_read(bench_dev);
}

static int bench_result_show(struct seq_file *m, void *v)
{
	const struct bench_run *run;
	unsigned int i;
	u64 total = 0;

	mutex_lock(&bench_lock);
	run = bench_last;
	if (!run)
		goto out_unlock;
	seq_printf(m, "mode %s\n", bench_mode_names[run->mode]);
	seq_printf(m, "variant %s\n", IS_ENABLED(CONFIG_PCPU_DEV_REFCNT) ? "pcpu" : "refcount");
	seq_printf(m, "cpus %u\n", run->nr_cpus);
	seq_printf(m, "msec %u\n", run->msec);
	for (i = 0; i < run->nr_cpus; i++) {
		seq_printf(m, "cpu %u pairs %llu ns %llu\n", run->workers[i].cpu,
			   run->workers[i].pairs, run->workers[i].ns);
		total += run->workers[i].pairs;
	}
	seq_printf(m, "pairs %llu\n", total);
	seq_printf(m, "refcnt %d\n", bench_refcnt());
	seq_printf(m, "atomic %d\n", atomic_read(&bench_shared.count));
	seq_printf(m, "refcount %u\n", refcount_read(&bench_shared.ref));
out_unlock:
	mutex_unlock(&bench_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bench_result);

static int bench_error_show(struct seq_file *m, void *v)
{
	mutex_lock(&bench_lock);
	if (bench_errmsg[0])
		seq_printf(m, "%s\n", bench_errmsg);
	mutex_unlock(&bench_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bench_error);

/* ---- load and unload ---- */

static const struct net_device_ops bench_netdev_ops;

int refprobe_bench_init(struct dentry *dir)
{
	bench_pcpu = alloc_percpu(int);
	if (!bench_pcpu)
		return -ENOMEM;
	/* Never registered, so never opened: it only needs a counter. */
	bench_dev = alloc_netdev(0, "rpbench", NET_NAME_USER, ether_setup);
	if (!bench_dev) {
		free_percpu(bench_pcpu);
		return -ENOMEM;
	}
	bench_dev->netdev_ops = &bench_netdev_ops;
	atomic_set(&bench_shared.count, 1);
	refcount_set(&bench_shared.ref, 1);

	bench_dir = debugfs_create_dir("bench", dir);
	debugfs_create_file("ctl", 0200, bench_dir, NULL, &bench_ctl_fops);
	debugfs_create_file("result", 0444, bench_dir, NULL, &bench_result_fops);
	debugfs_create_file("error", 0444, bench_dir, NULL, &bench_error_fops);
	return 0;
}

void refprobe_bench_exit(void)
{
	/* probe.c removed the directory (and our files) first: no run is left. */
	mutex_lock(&bench_lock);
	kfree(bench_last);
	bench_last = NULL;
	mutex_unlock(&bench_lock);
	free_netdev(bench_dev);
	free_percpu(bench_pcpu);
}
