// SPDX-License-Identifier: GPL-2.0
/* The hold/put microbenchmark (not written yet). */
#include "refprobe.h"

int refprobe_bench_init(struct dentry *dir)
{
	return 0;
}

void refprobe_bench_exit(void)
{
}
