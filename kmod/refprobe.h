/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of refprobe.ko share: probe.c owns the debugfs directory
 * and the device list; stress.c and bench.c add their own files to it.
 */
#ifndef REFPROBE_H
#define REFPROBE_H

#include <linux/dcache.h>

int refprobe_stress_init(struct dentry *dir);
void refprobe_stress_exit(void);
int refprobe_bench_init(struct dentry *dir);
void refprobe_bench_exit(void);

#endif /* REFPROBE_H */
