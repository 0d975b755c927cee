/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of refprobe.ko share: probe.c owns the debugfs directory
 * and the device list; stress.c, irq.c and bench.c add their own files to it.
 */
#ifndef REFPROBE_H
#define REFPROBE_H

#include <linux/dcache.h>
#include <linux/types.h>

struct completion;
struct net_device;
struct task_struct;

/* What irq.c runs: see refprobe_irq_run(). */
struct refprobe_irq_args {
	/* The CPU of the interrupts and of the process-context loop. */
	unsigned int cpu;
	/* The CPU that sends the interrupts (IPIs) and reads the count; -1: a pinned hrtimer. */
	int from_cpu;
	/* Holds in hard-interrupt context; puts in softirq context (soft <= hard). */
	u32 hard;
	u32 soft;
	/* One round of the process-context loop: holds and puts (pput <= phold). */
	u32 phold;
	u32 pput;
	/* fault_hold_twice: every hold takes two references. */
	bool hold_twice;
};

/*
 * Runs a stream of OPS holds and puts (at most CAP held) on every online CPU at once. Sets
 * *refs to the references left held (holds, doubled if @hold_twice, minus
 * puts), also after a timeout; returns 0 or a negative errno.
 */
long refprobe_stress_run(struct net_device *dev, u32 seed, u32 ops, u32 cap, bool hold_twice,
			 long *refs);
/* Holds on cpus[0], puts on cpus[1], reads on cpus[2]; 0 or a negative errno. */
long refprobe_race_run(struct net_device *dev, const unsigned int *cpus, u32 ops, u32 window);
/*
 * Interrupt-context holds and puts racing process-context ones on one CPU.
 * Sets *refs to the references left held (also after a timeout); returns 0
 * or a negative errno.
 */
long refprobe_irq_run(struct net_device *dev, const struct refprobe_irq_args *args, long *refs);
/* A kthread bound to @cpu, pinned (get_task_struct) for refprobe_workers_join(). */
struct task_struct *refprobe_worker_create(int (*fn)(void *), void *arg, unsigned int cpu,
					   const char *name);
/* Waits for @done at most worker_timeout_ms, sets *abort, stops and joins every task. */
int refprobe_workers_join(struct completion *done, bool *abort, struct task_struct **tasks, int n);
int refprobe_stress_init(struct dentry *dir);
void refprobe_stress_exit(void);
int refprobe_irq_init(struct dentry *dir);
int refprobe_bench_init(struct dentry *dir);
void refprobe_bench_exit(void);

#endif /* REFPROBE_H */
