/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of refprobe.ko share: probe.c owns the debugfs directory
 * and the device list; stress.c and bench.c add their own files to it.
 */
#ifndef REFPROBE_H
#define REFPROBE_H

#include <linux/dcache.h>
#include <linux/types.h>

struct net_device;

/*
 * Runs a stream of OPS holds and puts (at most CAP held) on every online CPU at once. Sets
 * *refs to the references left held (holds, doubled if @hold_twice, minus
 * puts), also after a timeout; returns 0 or a negative errno.
 */
long refprobe_stress_run(struct net_device *dev, u32 seed, u32 ops, u32 cap, bool hold_twice,
			 long *refs);
/* Holds on cpus[0], puts on cpus[1], reads on cpus[2]; 0 or a negative errno. */
long refprobe_race_run(struct net_device *dev, const unsigned int *cpus, u32 ops, u32 window);
int refprobe_stress_init(struct dentry *dir);
void refprobe_stress_exit(void);
int refprobe_bench_init(struct dentry *dir);
void refprobe_bench_exit(void);

#endif /* REFPROBE_H */
