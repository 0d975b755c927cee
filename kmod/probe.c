// SPDX-License-Identifier: GPL-2.0
/*
 * refprobe: exercise the net_device reference count from userspace.
 *
 * The harness drives this module through debugfs (kmod/README.md documents
 * every file, command and error). It creates test devices, takes and drops
 * references on chosen CPUs and reports netdev_refcnt_read() together with
 * every possible CPU's counter, so a reference model can check each step.
 * It holds no policy: the scenarios live in the harness.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/etherdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/utsname.h>
#include <linux/workqueue.h>

#include "refprobe.h"

/* One hold or put batch must stay short: it runs with interrupts off. */
#define REFPROBE_MAX_COUNT	1000000
#define REFPROBE_CMD_MAX	128
#define REFPROBE_MAX_ARGS	8
/* Streams of stress and race may run longer: they are kthreads that resched. */
#define REFPROBE_MAX_OPS	10000000
#define REFPROBE_MAX_WINDOW	1000
/*
 * alloc_bulk: enough devices to see the per-CPU allocator move by whole
 * pages, few enough (~5 KiB each) to fit a 256 MiB guest.
 */
#define REFPROBE_MAX_BULK	16384
/*
 * alloc_bulk and dummy_bulk add to one set, so that a run can first use up
 * the per-CPU room an earlier run left populated (mm/percpu.c keeps freed
 * pages populated), then measure what more devices cost.
 */
#define REFPROBE_MAX_BULK_SET	(4 * REFPROBE_MAX_BULK)

static bool fault_hold_twice;
module_param(fault_hold_twice, bool, 0444);
MODULE_PARM_DESC(fault_hold_twice,
		 "Test the harness: every hold takes two references (a deliberately wrong kernel)");

enum probe_unreg {
	PROBE_UNREG_NONE,
	PROBE_UNREG_PENDING,
	PROBE_UNREG_DONE,
};

/* netdev_priv() of every device this module allocates. */
struct probe_priv {
	/* References our netdevice notifier drops on NETDEV_UNREGISTER. */
	atomic_long_t notifier_held;
	/*
	 * References it drops only on a repeated NETDEV_UNREGISTER: the one
	 * netdev_wait_allrefs_any() re-sends every second while it waits,
	 * as holders that re-acquire a cached device need.
	 */
	atomic_long_t late_held;
	/* How many NETDEV_UNREGISTER notifications this device has seen. */
	atomic_t unreg_events;
};

struct probe_dev {
	struct list_head node;
	struct net_device *dev;
	/* A dummy device: kzalloc'ed, init_dummy_netdev(), never refcounted. */
	bool dummy;
	/* References this module holds now: holds minus puts, on any CPU. */
	long held;
	/* One reference taken with a tracker (hold_tracked), not counted in held. */
	netdevice_tracker tracker;
	bool tracked;
	enum probe_unreg unreg;
	struct work_struct unreg_work;
	/* When unregister was asked for, and how long it took (-1 until done). */
	u64 unreg_start_ns;
	s64 unreg_ns;
	/* Synchronous unregisters waiting for unreg_work, outside probe_lock. */
	int unreg_waiters;
};

static LIST_HEAD(probe_devs);
/* Set by a synchronous unregister: ctl waits for it once probe_lock is dropped. */
static struct probe_dev *probe_sync_unreg;
/* Anonymous devices of alloc_bulk or dummy_bulk, never registered, freed by free_bulk. */
struct probe_bulk_dev {
	struct net_device *dev;
	/* dummy_bulk's: kzalloc'ed and init_dummy_netdev()'d, so kfree()'d. */
	bool dummy;
};

static struct probe_bulk_dev *bulk_devs;
static unsigned int bulk_count;
/* Serialises commands and protects probe_devs and every probe_dev. */
static DEFINE_MUTEX(probe_lock);
static char last_error[160];
static struct dentry *probe_dir;

static const struct net_device_ops probe_netdev_ops;

static void probe_unreg_work(struct work_struct *work);

static int probe_fail(int err, const char *cmd, const char *fmt, ...)
{
	va_list args;
	int len;

	len = scnprintf(last_error, sizeof(last_error), "%s: ", cmd);
	va_start(args, fmt);
	vscnprintf(last_error + len, sizeof(last_error) - len, fmt, args);
	va_end(args);
	return err;
}

static struct probe_dev *probe_find(const char *name)
{
	struct probe_dev *pd;

	list_for_each_entry(pd, &probe_devs, node)
		if (!strcmp(pd->dev->name, name))
			return pd;
	return NULL;
}

/* ---- parsing of one command's arguments ---- */

static int probe_parse_cpu(const char *cmd, const char *arg, unsigned int *cpu)
{
	if (kstrtouint(arg, 10, cpu))
		return probe_fail(-EINVAL, cmd, "CPU '%s' is not a number", arg);
	if (*cpu >= nr_cpu_ids || !cpu_possible(*cpu))
		return probe_fail(-EINVAL, cmd, "CPU %u is not possible (possible: %*pbl)",
				  *cpu, cpumask_pr_args(cpu_possible_mask));
	return 0;
}

static int probe_parse_count(const char *cmd, const char *arg, unsigned int *count)
{
	if (kstrtouint(arg, 10, count) || *count == 0)
		return probe_fail(-EINVAL, cmd, "count '%s' is not a positive integer", arg);
	if (*count > REFPROBE_MAX_COUNT)
		return probe_fail(-ERANGE, cmd, "count %u is above the limit %d",
				  *count, REFPROBE_MAX_COUNT);
	return 0;
}

static int probe_parse_u32(const char *cmd, const char *what, const char *arg,
			   u32 min, u32 max, u32 *val)
{
	if (kstrtou32(arg, 10, val))
		return probe_fail(-EINVAL, cmd, "%s '%s' is not a number", what, arg);
	if (*val < min || *val > max)
		return probe_fail(-ERANGE, cmd, "%s %u is out of range %u..%u", what, *val, min, max);
	return 0;
}

static int probe_parse_online(const char *cmd, const char *arg, unsigned int *cpu)
{
	int ret = probe_parse_cpu(cmd, arg, cpu);

	if (!ret && !cpu_online(*cpu))
		return probe_fail(-ENXIO, cmd, "CPU %u is offline", *cpu);
	return ret;
}

/*
 * A name the device keeps: dev_valid_name() allows '%', but alloc_netdev()
 * would expand "%d" and the device would be lost to probe_find().
 */
static int probe_check_name(const char *cmd, const char *name)
{
	if (!dev_valid_name(name) || strchr(name, '%'))
		return probe_fail(-EINVAL, cmd, "'%s' is not a valid interface name (no '%%', '/', ':' or spaces, 1-15 bytes)",
				  name);
	if (probe_find(name))
		return probe_fail(-EEXIST, cmd, "device '%s' exists", name);
	return 0;
}

static int probe_lookup(const char *cmd, const char *name, struct probe_dev **pd)
{
	*pd = probe_find(name);
	if (!*pd)
		return probe_fail(-ENOENT, cmd, "no device '%s' (create it with alloc)", name);
	return 0;
}

/* ---- alloc and register, on a chosen CPU ---- */

static long probe_alloc_on_cpu(void *name)
{
	struct net_device *dev;

	/* alloc_netdev() takes the first reference on this CPU's counter. */
	dev = alloc_netdev(sizeof(struct probe_priv), name, NET_NAME_USER, ether_setup);
	if (!dev)
		return -ENOMEM;
	dev->netdev_ops = &probe_netdev_ops;
	eth_hw_addr_random(dev);
	return (long)dev;
}

static int probe_cmd_alloc(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	unsigned int cpu;
	long ret;

	ret = probe_check_name(cmd, argv[0]) ?: probe_parse_cpu(cmd, argv[1], &cpu);
	if (ret)
		return ret;
	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		return probe_fail(-ENOMEM, cmd, "out of memory");
	ret = work_on_cpu_safe(cpu, probe_alloc_on_cpu, argv[0]);
	if (IS_ERR_VALUE(ret))
		goto err_free;
	pd->dev = (struct net_device *)ret;
	pd->unreg_ns = -1;
	INIT_WORK(&pd->unreg_work, probe_unreg_work);
	list_add_tail(&pd->node, &probe_devs);
	return 0;

err_free:
	kfree(pd);
	if (ret == -ENODEV)
		return probe_fail(-ENXIO, cmd, "CPU %u is offline", cpu);
	return probe_fail(ret, cmd, "alloc_netdev failed");
}

static long probe_register_on_cpu(void *dev)
{
	return register_netdev(dev);
}

static int probe_cmd_register(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	unsigned int cpu;
	long ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_parse_cpu(cmd, argv[1], &cpu);
	if (ret)
		return ret;
	if (pd->dev->reg_state != NETREG_UNINITIALIZED)
		return probe_fail(-EBUSY, cmd, "'%s' was registered before", argv[0]);
	/* Its count can never come back to 1: unregister would wait forever. */
	if (pd->held < 0)
		return probe_fail(-EBUSY, cmd, "'%s' had an unowned put: it cannot be registered", argv[0]);
	ret = work_on_cpu_safe(cpu, probe_register_on_cpu, pd->dev);
	if (ret == -ENODEV)
		return probe_fail(-ENXIO, cmd, "CPU %u is offline", cpu);
	if (ret)
		return probe_fail(ret, cmd, "register_netdev failed with %ld", ret);
	return 0;
}

/* ---- hold and put, executed on the chosen CPU ---- */

struct probe_refop {
	struct net_device *dev;
	unsigned int count;
	bool put;
	/* Puts that take the sum from above 1 to below it: in one step (probe_put_at_once). */
	bool at_once;
};

/*
 * COUNT puts in one step on this CPU, for puts past what the module holds
 * while unregister waits. Each goes through the tracker's untracked count as
 * dev_put() does, but the per-CPU counter drops by COUNT at once: put one by
 * one, the sum would pass 1 on its way below, and netdev_wait_allrefs_any()
 * could read that 1, stop waiting and hit the BUG_ON() in netdev_run_todo()
 * at its next read. Only reached on per-CPU kernels (probe_check_may_put).
 */
static void probe_put_at_once(struct net_device *dev, unsigned int count)
{
#ifdef CONFIG_PCPU_DEV_REFCNT
	unsigned int i;

	for (i = 0; i < count; i++)
		netdev_tracker_free(dev, NULL);
	this_cpu_sub(*dev->pcpu_refcnt, count);
#endif
}

static void probe_refop_on_cpu(void *arg)
{
	struct probe_refop *op = arg;
	unsigned int i;

	if (op->put && op->at_once) {
		probe_put_at_once(op->dev, op->count);
		return;
	}
	for (i = 0; i < op->count; i++) {
		if (op->put) {
			dev_put(op->dev);
			continue;
		}
		dev_hold(op->dev);
		if (fault_hold_twice)
			dev_hold(op->dev);
	}
}

/*
 * Whether hold/put may touch this device's count at all. A dummy's
 * pcpu_refcnt is NULL on a per-CPU kernel: this_cpu_inc() would write through
 * it into this CPU's own per-CPU area. On a refcount_t kernel a dummy's count
 * is a zeroed refcount_t: a hold there is what refcount_inc() must catch
 * ("addition on 0; use-after-free."), so it is allowed.
 */
static int probe_check_counted(const char *cmd, struct probe_dev *pd)
{
	if (pd->dummy && IS_ENABLED(CONFIG_PCPU_DEV_REFCNT))
		return probe_fail(-EINVAL, cmd, "'%s' is a dummy device: it has no per-CPU counter",
				  pd->dev->name);
	/*
	 * A pending unregister shows NETREG_UNREGISTERED already (netdev_run_todo
	 * sets it before waiting): references may still be put then.
	 */
	if (pd->unreg == PROBE_UNREG_DONE)
		return probe_fail(-EBUSY, cmd, "'%s' is unregistered", pd->dev->name);
	return 0;
}

/*
 * Whether @refs new references may be taken. Once unregister has started the
 * kernel relies on none appearing: netdev_wait_allrefs_any() returns when the
 * sum reads 1 and netdev_run_todo() then does BUG_ON(sum != 1). A hold is
 * safe while the module's own references keep the sum above 1, or when it
 * pays back puts past one (held < 0) without going beyond: the sum then
 * climbs back to 1 at most, and only its last step reaches it.
 */
static long probe_other_refs(struct probe_dev *pd)
{
	struct probe_priv *priv;
	long n = pd->tracked ? 1 : 0;

	if (pd->dummy)
		return n;
	priv = netdev_priv(pd->dev);
	return n + atomic_long_read(&priv->notifier_held) + atomic_long_read(&priv->late_held);
}

static int probe_check_may_hold(const char *cmd, struct probe_dev *pd, long refs)
{
	int ret = probe_check_counted(cmd, pd);

	if (ret || pd->unreg == PROBE_UNREG_NONE || pd->held > 0)
		return ret;
	/* The module's other references count too: the sum must not pass 1 on the way back. */
	if (pd->held < 0 && pd->held + refs + probe_other_refs(pd) <= 0)
		return 0;
	if (pd->held < 0)
		return probe_fail(-EBUSY, cmd, "unregister of '%s' has started: only %ld references pay back the puts past one",
				  pd->dev->name, -pd->held);
	return probe_fail(-EBUSY, cmd, "unregister of '%s' has started: no new references",
			  pd->dev->name);
}

/*
 * Whether a put may drop more than the module holds. Never on a device
 * whose unregister has not started: the references beyond ours are the
 * kernel's own. While unregister waits they are gone (only the initial one
 * is left), so a per-CPU sum may fall below 1, and the kernel must go on
 * waiting until a hold pays it back. A refcount_t would saturate instead and
 * never come back to 1: the unregister, and the module's worker in it,
 * would wait forever, and the module could never be unloaded.
 */
static int probe_check_may_put(const char *cmd, struct probe_dev *pd, long refs)
{
	if (pd->held + refs >= 0)
		return 0;
	if (pd->unreg != PROBE_UNREG_PENDING)
		return probe_fail(-EINVAL, cmd, "only %ld references held on '%s'",
				  pd->held, pd->dev->name);
	if (!IS_ENABLED(CONFIG_PCPU_DEV_REFCNT))
		return probe_fail(-EINVAL, cmd, "a refcount_t cannot fall below 1 on '%s' and come back: only %ld references held",
				  pd->dev->name, pd->held);
	/*
	 * Only once the kernel's references are gone (the sum is its initial one
	 * and ours): a put past ours before that would take one of the kernel's,
	 * and its own later put would free the device under it.
	 */
	if (netdev_refcnt_read(pd->dev) != 1 + pd->held + probe_other_refs(pd))
		return probe_fail(-EBUSY, cmd, "the kernel still holds references to '%s' beyond its initial one: a put past ours would take one of them",
				  pd->dev->name);
	return 0;
}

/* Runs COUNT holds or puts on the CPU named by @cpu_arg. */
static int probe_refop_run(const char *cmd, struct probe_dev *pd, const char *cpu_arg,
			   unsigned int count, bool put)
{
	struct probe_refop op = { .dev = pd->dev, .count = count, .put = put };
	unsigned int cpu;
	int ret;

	ret = probe_parse_cpu(cmd, cpu_arg, &cpu);
	if (ret)
		return ret;
	/* Only puts past ours while unregister waits (per-CPU): put_unowned's single put is a dev_put(). */
	op.at_once = put && IS_ENABLED(CONFIG_PCPU_DEV_REFCNT) &&
		     pd->unreg == PROBE_UNREG_PENDING && pd->held - (long)count < 0;
	cpus_read_lock();
	ret = cpu_online(cpu) ? smp_call_function_single(cpu, probe_refop_on_cpu, &op, 1)
			      : -ENXIO;
	cpus_read_unlock();
	if (ret)
		return probe_fail(-ENXIO, cmd, "CPU %u is offline", cpu);
	return 0;
}

static int probe_refop(const char *cmd, char **argv, bool put)
{
	struct probe_dev *pd;
	unsigned int count;
	long refs;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_parse_count(cmd, argv[2], &count);
	if (ret)
		return ret;
	refs = put ? -(long)count : (long)count * (fault_hold_twice ? 2 : 1);
	ret = put ? probe_check_counted(cmd, pd) ?: probe_check_may_put(cmd, pd, refs)
		  : probe_check_may_hold(cmd, pd, refs);
	if (ret)
		return ret;
	ret = probe_refop_run(cmd, pd, argv[1], count, put);
	if (ret)
		return ret;
	pd->held += refs;
	return 0;
}

static int probe_cmd_hold(const char *cmd, char **argv)
{
	return probe_refop(cmd, argv, false);
}

static int probe_cmd_put(const char *cmd, char **argv)
{
	return probe_refop(cmd, argv, true);
}

/*
 * hold_notifier: references taken like hold, but owned by our netdevice
 * notifier, which drops them all on NETDEV_UNREGISTER, as protocols that
 * cache a device do. Unregister then completes without waiting.
 * hold_rebroadcast: the same, but let go only on a repeated
 * NETDEV_UNREGISTER, so unregister completes only through the wait loop's
 * re-sent notification.
 *
 * Under RTNL, as the notifier runs: unregister cannot start between the
 * check that the device is registered and the moment the notifier owns the
 * references (or it would never drop them).
 */
static int probe_hold_owned(const char *cmd, char **argv, bool late)
{
	struct probe_priv *priv;
	struct probe_dev *pd;
	unsigned int count;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_parse_count(cmd, argv[2], &count) ?:
	      probe_check_may_hold(cmd, pd, count);
	if (ret)
		return ret;
	rtnl_lock();
	if (pd->dev->reg_state != NETREG_REGISTERED) {
		ret = probe_fail(-EBUSY, cmd, "'%s' is not registered", argv[0]);
		goto out_unlock;
	}
	ret = probe_refop_run(cmd, pd, argv[1], count, false);
	if (ret)
		goto out_unlock;
	priv = netdev_priv(pd->dev);
	atomic_long_add((long)count * (fault_hold_twice ? 2 : 1),
			late ? &priv->late_held : &priv->notifier_held);
out_unlock:
	rtnl_unlock();
	return ret;
}

static int probe_cmd_hold_notifier(const char *cmd, char **argv)
{
	return probe_hold_owned(cmd, argv, false);
}

static int probe_cmd_hold_rebroadcast(const char *cmd, char **argv)
{
	return probe_hold_owned(cmd, argv, true);
}

static void probe_put_n(struct net_device *dev, atomic_long_t *held)
{
	long n = atomic_long_xchg(held, 0);

	for (; n > 0; n--)
		dev_put(dev);
}

static void probe_notifier_put(struct net_device *dev)
{
	struct probe_priv *priv = netdev_priv(dev);

	probe_put_n(dev, &priv->notifier_held);
	probe_put_n(dev, &priv->late_held);
}

/*
 * drop_notifier: the notifier lets go of its references now. Cleanup after
 * a kernel that never re-sent NETDEV_UNREGISTER, so its unregister (and the
 * rest of the run) can finish.
 */
static int probe_cmd_drop_notifier(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_counted(cmd, pd);
	if (ret)
		return ret;
	probe_notifier_put(pd->dev);
	return 0;
}

static int probe_netdev_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct probe_priv *priv;

	/* Called under RTNL: never take probe_lock here. */
	if (event != NETDEV_UNREGISTER || dev->netdev_ops != &probe_netdev_ops)
		return NOTIFY_DONE;
	priv = netdev_priv(dev);
	probe_put_n(dev, &priv->notifier_held);
	if (atomic_inc_return(&priv->unreg_events) > 1)
		probe_put_n(dev, &priv->late_held);
	return NOTIFY_DONE;
}

static struct notifier_block probe_notifier = {
	.notifier_call = probe_netdev_event,
};

/*
 * dummy: init_dummy_netdev() on a zeroed net_device, as NAPI-only drivers
 * do. In 6.1 it gets no per-CPU counter (pcpu_refcnt stays NULL): the module
 * reports that without dereferencing it, and refuses hold/put on it on a
 * per-CPU kernel (probe_check_counted).
 */
static int probe_cmd_dummy(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	int ret;

	ret = probe_check_name(cmd, argv[0]);
	if (ret)
		return ret;
	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		return probe_fail(-ENOMEM, cmd, "out of memory");
	pd->dev = kzalloc(sizeof(*pd->dev), GFP_KERNEL);
	if (!pd->dev) {
		kfree(pd);
		return probe_fail(-ENOMEM, cmd, "out of memory");
	}
	init_dummy_netdev(pd->dev);
	strscpy(pd->dev->name, argv[0], IFNAMSIZ);
	pd->dummy = true;
	pd->unreg_ns = -1;
	INIT_WORK(&pd->unreg_work, probe_unreg_work);
	list_add_tail(&pd->node, &probe_devs);
	return 0;
}

/* ---- a tracked reference: what CONFIG_NET_DEV_REFCNT_TRACKER reports ---- */

struct probe_tracked_op {
	struct probe_dev *pd;
	bool put;
};

static void probe_tracked_on_cpu(void *arg)
{
	struct probe_tracked_op *op = arg;

	if (op->put)
		netdev_put(op->pd->dev, &op->pd->tracker);
	else
		netdev_hold(op->pd->dev, &op->pd->tracker, GFP_ATOMIC);
}

static int probe_tracked(const char *cmd, char **argv, bool put)
{
	struct probe_tracked_op op = { .put = put };
	unsigned int cpu;
	int ret;

	ret = probe_lookup(cmd, argv[0], &op.pd) ?:
	      (put ? probe_check_counted(cmd, op.pd) : probe_check_may_hold(cmd, op.pd, LONG_MAX)) ?:
	      probe_parse_online(cmd, argv[1], &cpu);
	if (ret)
		return ret;
	if (op.pd->tracked != put)
		return probe_fail(-EINVAL, cmd, put ? "no tracked reference on '%s'" :
				  "'%s' has a tracked reference already", argv[0]);
	/* A dummy's tracker directory is zeroed, never initialised: netdev_hold() would oops on it. */
	if (op.pd->dummy && IS_ENABLED(CONFIG_NET_DEV_REFCNT_TRACKER))
		return probe_fail(-EINVAL, cmd, "'%s' is a dummy device: it has no reference tracker",
				  argv[0]);
	ret = smp_call_function_single(cpu, probe_tracked_on_cpu, &op, 1);
	if (ret)
		return probe_fail(-ENXIO, cmd, "CPU %u is offline", cpu);
	op.pd->tracked = !put;
	return 0;
}

static int probe_cmd_hold_tracked(const char *cmd, char **argv)
{
	return probe_tracked(cmd, argv, false);
}

static int probe_cmd_put_tracked(const char *cmd, char **argv)
{
	return probe_tracked(cmd, argv, true);
}

/* ---- NULL: what every hold and put must accept and ignore ---- */

static void probe_null_on_cpu(void *arg)
{
	netdevice_tracker *tracker = arg;

	dev_hold(NULL);
	dev_put(NULL);
	netdev_hold(NULL, tracker, GFP_ATOMIC);
	netdev_put(NULL, tracker);
}

/*
 * null_ops: dev_hold(NULL), dev_put(NULL), netdev_hold(NULL, ...) and
 * netdev_put(NULL, ...) on CPU. Callers rely on them doing nothing (e.g.
 * dev_put() of what dev_get_by_name() did not find). The tracker is the
 * module's own and stays unused: the calls must not touch it either.
 */
static int probe_cmd_null_ops(const char *cmd, char **argv)
{
	static netdevice_tracker tracker;
	unsigned int cpu;
	int ret;

	ret = probe_parse_online(cmd, argv[0], &cpu);
	if (ret)
		return ret;
	ret = smp_call_function_single(cpu, probe_null_on_cpu, &tracker, 1);
	if (ret)
		return probe_fail(-ENXIO, cmd, "CPU %u is offline", cpu);
	return 0;
}

/* ---- concurrent streams (stress.c) ---- */

static int probe_cmd_stress(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	u32 seed, ops, cap;
	long refs = 0;
	int ret;

	/* cap <= max_count: what a stream leaves on its CPU goes back in one put. */
	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_may_hold(cmd, pd, LONG_MAX) ?:
	      probe_parse_u32(cmd, "seed", argv[1], 0, U32_MAX, &seed) ?:
	      probe_parse_u32(cmd, "ops", argv[2], 1, REFPROBE_MAX_OPS, &ops) ?:
	      probe_parse_u32(cmd, "cap", argv[3], 1, REFPROBE_MAX_COUNT, &cap);
	if (ret)
		return ret;
	ret = refprobe_stress_run(pd->dev, seed, ops, cap, fault_hold_twice, &refs);
	/* Counted even after a timeout: every stream stopped and said what it holds. */
	pd->held += refs;
	if (ret)
		return probe_fail(ret, cmd, "stress run failed with %d", ret);
	return 0;
}

static int probe_cmd_race(const char *cmd, char **argv)
{
	unsigned int cpus[3];
	struct probe_dev *pd;
	u32 ops, window;
	long ret;
	int i;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_counted(cmd, pd);
	/* Its reader under-reads on purpose: an unregister must not be waiting on the sum. */
	if (!ret && pd->unreg != PROBE_UNREG_NONE)
		ret = probe_fail(-EBUSY, cmd, "unregister of '%s' has started", argv[0]);
	for (i = 0; i < 3 && !ret; i++)
		ret = probe_parse_online(cmd, argv[1 + i], &cpus[i]);
	ret = ret ?: probe_parse_u32(cmd, "ops", argv[4], 1, REFPROBE_MAX_OPS, &ops) ?:
	      probe_parse_u32(cmd, "window", argv[5], 1, REFPROBE_MAX_WINDOW, &window);
	if (ret)
		return ret;
	if (cpus[0] == cpus[1] || cpus[0] == cpus[2] || cpus[1] == cpus[2])
		return probe_fail(-EINVAL, cmd, "holder, putter and reader need three different CPUs");
	ret = refprobe_race_run(pd->dev, cpus, ops, window);
	if (ret)
		return probe_fail(ret, cmd, "race run failed with %ld", ret);
	return 0;
}

/*
 * The device of an irq run: one whose count may be touched at all, and no
 * unregister started (the run takes new references while the wait may find
 * the sum at 1).
 */
static int probe_check_irq_dev(const char *cmd, struct probe_dev *pd)
{
	int ret = probe_check_counted(cmd, pd);

	if (!ret && pd->unreg != PROBE_UNREG_NONE)
		return probe_fail(-EBUSY, cmd, "unregister of '%s' has started", pd->dev->name);
	return ret;
}

/* irq's FROM_CPU: an online CPU other than the interrupted one, or "timer". */
static int probe_parse_from(const char *cmd, const char *arg, unsigned int cpu, int *from)
{
	unsigned int f;
	int ret;

	if (!strcmp(arg, "timer")) {
		*from = -1;
		return 0;
	}
	ret = probe_parse_online(cmd, arg, &f);
	if (ret)
		return ret;
	if (f == cpu)
		return probe_fail(-EINVAL, cmd, "the interrupts of CPU %u must come from another CPU (or from 'timer')",
				  cpu);
	*from = f;
	return 0;
}

static int probe_cmd_irq(const char *cmd, char **argv)
{
	struct refprobe_irq_args a = { .hold_twice = fault_hold_twice };
	struct probe_dev *pd;
	long refs = 0;
	long ret;

	/* Each bound checked only once the one before it parsed (?: stops at the first error). */
	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_irq_dev(cmd, pd) ?:
	      probe_parse_online(cmd, argv[1], &a.cpu) ?:
	      probe_parse_from(cmd, argv[2], a.cpu, &a.from_cpu) ?:
	      probe_parse_u32(cmd, "hard", argv[3], 1, REFPROBE_MAX_COUNT, &a.hard) ?:
	      probe_parse_u32(cmd, "soft", argv[4], 0, a.hard, &a.soft) ?:
	      probe_parse_u32(cmd, "phold", argv[5], 1, REFPROBE_MAX_OPS, &a.phold) ?:
	      probe_parse_u32(cmd, "pput", argv[6], 0, a.phold, &a.pput);
	if (ret)
		return ret;
	ret = refprobe_irq_run(pd->dev, &a, &refs);
	/* Counted even after a timeout: every side stopped and said what it did. */
	pd->held += refs;
	if (ret == -ENXIO)
		return probe_fail(-ENXIO, cmd, "a CPU of the run went offline");
	if (ret)
		return probe_fail(ret, cmd, "irq run failed with %ld", ret);
	return 0;
}

/*
 * put_unowned: one dev_put() of a reference nobody took, the bug the
 * imbalance scenario shows. Only on a device that was never registered, so
 * no other kernel code can rely on its count; free works whatever it reads.
 */
static int probe_cmd_put_unowned(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_counted(cmd, pd);
	if (ret)
		return ret;
	if (pd->dev->reg_state != NETREG_UNINITIALIZED)
		return probe_fail(-EBUSY, cmd, "'%s' was registered: only a never-registered device may be unbalanced",
				  argv[0]);
	ret = probe_refop_run(cmd, pd, argv[1], 1, true);
	if (ret)
		return ret;
	pd->held--;
	return 0;
}

/* ---- many anonymous devices, for the memory scenario ---- */

static void probe_free_bulk(void)
{
	struct probe_bulk_dev *b;

	while (bulk_count) {
		b = &bulk_devs[--bulk_count];
		if (b->dummy)
			kfree(b->dev);
		else
			free_netdev(b->dev);
	}
	kvfree(bulk_devs);
	bulk_devs = NULL;
}

static struct net_device *probe_bulk_one(bool dummy)
{
	struct net_device *dev;

	if (!dummy)
		return alloc_netdev(sizeof(struct probe_priv), "rpbulk%d", NET_NAME_ENUM,
				    ether_setup);
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (dev)
		init_dummy_netdev(dev);
	return dev;
}

static int probe_bulk(const char *cmd, char **argv, bool dummy)
{
	unsigned int end;
	u32 n;
	int ret;

	ret = probe_parse_u32(cmd, "count", argv[0], 1, REFPROBE_MAX_BULK, &n);
	if (ret)
		return ret;
	if (bulk_count + n > REFPROBE_MAX_BULK_SET)
		return probe_fail(-ENOSPC, cmd, "%u bulk devices exist: %u more would pass %u (free_bulk first)",
				  bulk_count, n, REFPROBE_MAX_BULK_SET);
	if (!bulk_devs) {
		bulk_devs = kvcalloc(REFPROBE_MAX_BULK_SET, sizeof(*bulk_devs), GFP_KERNEL);
		if (!bulk_devs)
			return probe_fail(-ENOMEM, cmd, "out of memory");
	}
	for (end = bulk_count + n; bulk_count < end; bulk_count++) {
		bulk_devs[bulk_count].dummy = dummy;
		bulk_devs[bulk_count].dev = probe_bulk_one(dummy);
		if (!bulk_devs[bulk_count].dev || fatal_signal_pending(current))
			goto err_free;
	}
	return 0;

err_free:
	/* Allocated, then the signal came: it is freed with the others. */
	if (bulk_devs[bulk_count].dev)
		bulk_count++;
	n = bulk_count;
	probe_free_bulk();
	return probe_fail(-ENOMEM, cmd, "stopped after %u devices (out of memory or killed)", n);
}

static int probe_cmd_alloc_bulk(const char *cmd, char **argv)
{
	return probe_bulk(cmd, argv, false);
}

static int probe_cmd_dummy_bulk(const char *cmd, char **argv)
{
	return probe_bulk(cmd, argv, true);
}

static int probe_cmd_free_bulk(const char *cmd, char **argv)
{
	if (!bulk_devs)
		return probe_fail(-ENOENT, cmd, "no bulk devices");
	probe_free_bulk();
	return 0;
}

/* ---- unregister, synchronous or in the background, and free ---- */

static void probe_unreg_work(struct work_struct *work)
{
	struct probe_dev *pd = container_of(work, struct probe_dev, unreg_work);
	u64 end;

	/* Blocks in netdev_wait_allrefs_any() until every reference is gone. */
	unregister_netdev(pd->dev);
	end = ktime_get_ns();
	mutex_lock(&probe_lock);
	pd->unreg = PROBE_UNREG_DONE;
	pd->unreg_ns = end - pd->unreg_start_ns;
	mutex_unlock(&probe_lock);
}

/* Unregisters in unreg_work, so probe_lock is free while the kernel waits. */
static void probe_unreg_start(struct probe_dev *pd)
{
	pd->unreg = PROBE_UNREG_PENDING;
	pd->unreg_start_ns = ktime_get_ns();
	queue_work(system_long_wq, &pd->unreg_work);
}

static int probe_check_registered(const char *cmd, struct probe_dev *pd)
{
	if (pd->dev->reg_state != NETREG_REGISTERED || pd->unreg != PROBE_UNREG_NONE)
		return probe_fail(-EBUSY, cmd, "'%s' is not registered", pd->dev->name);
	return 0;
}

static int probe_cmd_unregister(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_registered(cmd, pd);
	if (ret)
		return ret;
	/* Only the kernel's own references may keep it waiting: ours would never go. */
	if (pd->held || pd->tracked)
		return probe_fail(-EBUSY, cmd, "%ld references held on '%s': put them or use unregister_async",
				  pd->held, argv[0]);
	/* ctl waits for it after dropping probe_lock: reads go on meanwhile. */
	probe_unreg_start(pd);
	pd->unreg_waiters++;
	probe_sync_unreg = pd;
	return 0;
}

static int probe_cmd_unregister_async(const char *cmd, char **argv)
{
	struct probe_dev *pd;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd) ?: probe_check_registered(cmd, pd);
	if (ret)
		return ret;
	probe_unreg_start(pd);
	return 0;
}

static void probe_release(struct probe_dev *pd)
{
	/* unreg_work may still be returning from its last mutex_unlock(). */
	flush_work(&pd->unreg_work);
	list_del(&pd->node);
	if (pd->dummy)
		kfree(pd->dev);
	else
		free_netdev(pd->dev);
	kfree(pd);
}

static int probe_cmd_free(const char *cmd, char **argv)
{
	struct probe_priv *priv;
	struct probe_dev *pd;
	int ret;

	ret = probe_lookup(cmd, argv[0], &pd);
	if (ret)
		return ret;
	if (pd->unreg == PROBE_UNREG_PENDING || pd->unreg_waiters)
		return probe_fail(-EBUSY, cmd, "unregister of '%s' is pending", argv[0]);
	priv = netdev_priv(pd->dev);
	/* A never-registered device's notifier references are nobody's to drop. */
	if (!pd->dummy && (atomic_long_read(&priv->notifier_held) || atomic_long_read(&priv->late_held)))
		return probe_fail(-EBUSY, cmd, "the notifier holds references on '%s': unregister it first",
				  argv[0]);
	if (pd->dev->reg_state == NETREG_REGISTERED)
		return probe_fail(-EBUSY, cmd, "'%s' is registered: unregister it first", argv[0]);
	if (pd->tracked)
		return probe_fail(-EBUSY, cmd, "a tracked reference is held on '%s': put_tracked first", argv[0]);
	/* Below zero only after put_unowned, on a never-registered device: safe to free. */
	if (pd->held > 0)
		return probe_fail(-EBUSY, cmd, "%ld references held on '%s': put them first",
				  pd->held, argv[0]);
	probe_release(pd);
	return 0;
}

/* ---- the ctl file: one command per write ---- */

struct probe_cmd {
	const char *name;
	int argc;
	const char *usage;
	int (*run)(const char *cmd, char **argv);
};

static const struct probe_cmd probe_cmds[] = {
	{ "alloc", 2, "alloc NAME CPU", probe_cmd_alloc },
	{ "register", 2, "register NAME CPU", probe_cmd_register },
	{ "hold", 3, "hold NAME CPU COUNT", probe_cmd_hold },
	{ "put", 3, "put NAME CPU COUNT", probe_cmd_put },
	{ "unregister", 1, "unregister NAME", probe_cmd_unregister },
	{ "unregister_async", 1, "unregister_async NAME", probe_cmd_unregister_async },
	{ "free", 1, "free NAME", probe_cmd_free },
	{ "hold_notifier", 3, "hold_notifier NAME CPU COUNT", probe_cmd_hold_notifier },
	{ "hold_rebroadcast", 3, "hold_rebroadcast NAME CPU COUNT", probe_cmd_hold_rebroadcast },
	{ "drop_notifier", 1, "drop_notifier NAME", probe_cmd_drop_notifier },
	{ "dummy", 1, "dummy NAME", probe_cmd_dummy },
	{ "stress", 4, "stress NAME SEED OPS CAP", probe_cmd_stress },
	{ "race", 6, "race NAME HOLD_CPU PUT_CPU READ_CPU OPS WINDOW", probe_cmd_race },
	{ "irq", 7, "irq NAME CPU FROM_CPU|timer HARD SOFT PHOLD PPUT", probe_cmd_irq },
	{ "put_unowned", 2, "put_unowned NAME CPU", probe_cmd_put_unowned },
	{ "hold_tracked", 2, "hold_tracked NAME CPU", probe_cmd_hold_tracked },
	{ "put_tracked", 2, "put_tracked NAME CPU", probe_cmd_put_tracked },
	{ "null_ops", 1, "null_ops CPU", probe_cmd_null_ops },
	{ "alloc_bulk", 1, "alloc_bulk COUNT", probe_cmd_alloc_bulk },
	{ "dummy_bulk", 1, "dummy_bulk COUNT", probe_cmd_dummy_bulk },
	{ "free_bulk", 0, "free_bulk", probe_cmd_free_bulk },
};

static int probe_split(char *line, char **argv)
{
	char *tok;
	int argc = 0;

	while ((tok = strsep(&line, " \t")) != NULL) {
		if (!*tok)
			continue;
		if (argc == REFPROBE_MAX_ARGS)
			return -E2BIG;
		argv[argc++] = tok;
	}
	return argc;
}

static int probe_dispatch(char *line)
{
	char *argv[REFPROBE_MAX_ARGS];
	const struct probe_cmd *c;
	int argc;

	argc = probe_split(strim(line), argv);
	if (argc < 0)
		return probe_fail(-EINVAL, "ctl", "too many words (at most %d)", REFPROBE_MAX_ARGS);
	if (argc == 0)
		return probe_fail(-EINVAL, "ctl", "empty command");
	for (c = probe_cmds; c < probe_cmds + ARRAY_SIZE(probe_cmds); c++) {
		if (strcmp(argv[0], c->name))
			continue;
		if (argc - 1 != c->argc)
			return probe_fail(-EINVAL, c->name, "usage: %s", c->usage);
		return c->run(c->name, argv + 1);
	}
	return probe_fail(-EINVAL, "ctl", "unknown command '%s'", argv[0]);
}

/* A synchronous unregister: wait for it without probe_lock, so reads go on. */
static void probe_sync_wait(struct probe_dev *pd)
{
	flush_work(&pd->unreg_work);
	mutex_lock(&probe_lock);
	pd->unreg_waiters--;
	mutex_unlock(&probe_lock);
}

static ssize_t probe_ctl_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	struct probe_dev *wait;
	char *line;
	int ret;

	if (len == 0 || len >= REFPROBE_CMD_MAX) {
		mutex_lock(&probe_lock);
		ret = probe_fail(-EINVAL, "ctl", "a command is 1 to %d bytes, this one is %zu",
				 REFPROBE_CMD_MAX - 1, len);
		mutex_unlock(&probe_lock);
		return ret;
	}
	line = memdup_user_nul(ubuf, len);
	if (IS_ERR(line))
		return PTR_ERR(line);
	mutex_lock(&probe_lock);
	ret = probe_dispatch(line);
	if (!ret)
		last_error[0] = '\0';
	else
		pr_debug("%s\n", last_error);
	wait = probe_sync_unreg;
	probe_sync_unreg = NULL;
	mutex_unlock(&probe_lock);
	kfree(line);
	if (wait)
		probe_sync_wait(wait);
	return ret ?: len;
}

static const struct file_operations probe_ctl_fops = {
	.owner = THIS_MODULE,
	.write = probe_ctl_write,
	.llseek = noop_llseek,
};

/* ---- read-only files: info, devices, error ---- */

static const char *const probe_variant =
	IS_ENABLED(CONFIG_PCPU_DEV_REFCNT) ? "pcpu" : "refcount";

static int probe_info_show(struct seq_file *m, void *v)
{
	seq_printf(m, "release %s\n", init_utsname()->release);
	seq_printf(m, "variant %s\n", probe_variant);
	seq_printf(m, "tracker %d\n", IS_ENABLED(CONFIG_NET_DEV_REFCNT_TRACKER));
	seq_printf(m, "nr_cpu_ids %u\n", nr_cpu_ids);
	seq_printf(m, "possible %*pbl\n", cpumask_pr_args(cpu_possible_mask));
	seq_printf(m, "online %*pbl\n", cpumask_pr_args(cpu_online_mask));
	seq_printf(m, "max_count %d\n", REFPROBE_MAX_COUNT);
	seq_printf(m, "fault_hold_twice %d\n", fault_hold_twice);
	seq_printf(m, "max_ops %d\n", REFPROBE_MAX_OPS);
	mutex_lock(&probe_lock);
	seq_printf(m, "bulk %u\n", bulk_count);
	mutex_unlock(&probe_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(probe_info);

static const char *const probe_reg_names[] = {
	[NETREG_UNINITIALIZED] = "uninitialized",
	[NETREG_REGISTERED] = "registered",
	[NETREG_UNREGISTERING] = "unregistering",
	[NETREG_UNREGISTERED] = "unregistered",
	[NETREG_RELEASED] = "released",
	[NETREG_DUMMY] = "dummy",
};

static const char *const probe_unreg_names[] = {
	[PROBE_UNREG_NONE] = "none",
	[PROBE_UNREG_PENDING] = "pending",
	[PROBE_UNREG_DONE] = "done",
};

static void probe_show_pcpu(struct seq_file *m, const struct net_device *dev)
{
#ifdef CONFIG_PCPU_DEV_REFCNT
	const char *sep = "";
	unsigned int cpu;

	if (!dev->pcpu_refcnt) {
		seq_puts(m, " pcpu=none");
		return;
	}
	seq_puts(m, " pcpu=");
	for_each_possible_cpu(cpu) {
		seq_printf(m, "%s%u:%d", sep, cpu, *per_cpu_ptr(dev->pcpu_refcnt, cpu));
		sep = ",";
	}
#else
	seq_puts(m, " pcpu=none");
#endif
}

static void probe_show_refcnt(struct seq_file *m, const struct probe_dev *pd)
{
	const struct probe_priv *priv = netdev_priv(pd->dev);

	seq_printf(m, " nheld=%ld nlate=%ld unreg_events=%d",
		   pd->dummy ? 0 : atomic_long_read(&priv->notifier_held),
		   pd->dummy ? 0 : atomic_long_read(&priv->late_held),
		   pd->dummy ? 0 : atomic_read(&priv->unreg_events));
	/* netdev_refcnt_read() of a dummy would sum per_cpu_ptr(NULL, cpu). */
	if (IS_ENABLED(CONFIG_PCPU_DEV_REFCNT) && pd->dummy)
		seq_puts(m, " refcnt=none");
	else
		seq_printf(m, " refcnt=%d", netdev_refcnt_read(pd->dev));
}

static int probe_devices_show(struct seq_file *m, void *v)
{
	struct probe_dev *pd;
	u8 reg;

	mutex_lock(&probe_lock);
	list_for_each_entry(pd, &probe_devs, node) {
		reg = READ_ONCE(pd->dev->reg_state);
		seq_printf(m, "%s reg=%s unreg=%s unreg_us=%lld held=%ld tracked=%d", pd->dev->name,
			   reg < ARRAY_SIZE(probe_reg_names) ? probe_reg_names[reg] : "unknown",
			   probe_unreg_names[pd->unreg],
			   pd->unreg_ns < 0 ? -1LL : div_s64(pd->unreg_ns, NSEC_PER_USEC),
			   pd->held, pd->tracked);
		probe_show_refcnt(m, pd);
		probe_show_pcpu(m, pd->dev);
		seq_putc(m, '\n');
	}
	mutex_unlock(&probe_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(probe_devices);

static int probe_error_show(struct seq_file *m, void *v)
{
	mutex_lock(&probe_lock);
	if (last_error[0])
		seq_printf(m, "%s\n", last_error);
	mutex_unlock(&probe_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(probe_error);

/* ---- module load and unload ---- */

static void probe_drop_all(struct probe_dev *pd)
{
	for (; pd->held > 0; pd->held--)
		dev_put(pd->dev);
	if (pd->tracked)
		netdev_put(pd->dev, &pd->tracker);
	pd->tracked = false;
	if (!pd->dummy)
		probe_notifier_put(pd->dev);
	/*
	 * Puts past one while unregister waits (per-CPU only): pay them back
	 * last, once nothing else of ours is held, so the sum reaches 1 only at
	 * the end (a 1 on the way would end the wait with references left).
	 */
	for (; pd->held < 0 && pd->unreg == PROBE_UNREG_PENDING; pd->held++)
		dev_hold(pd->dev);
	/* A pending unregister completes now that our references are gone. */
	if (pd->unreg == PROBE_UNREG_PENDING) {
		mutex_unlock(&probe_lock);
		flush_work(&pd->unreg_work);
		mutex_lock(&probe_lock);
	}
	if (pd->dev->reg_state == NETREG_REGISTERED)
		unregister_netdev(pd->dev);
	probe_release(pd);
}

static int __init refprobe_init(void)
{
	int ret;

	ret = register_netdevice_notifier(&probe_notifier);
	if (ret)
		return ret;
	probe_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(probe_dir)) {
		ret = PTR_ERR(probe_dir);
		goto err_notifier;
	}
	debugfs_create_file("ctl", 0200, probe_dir, NULL, &probe_ctl_fops);
	debugfs_create_file("info", 0444, probe_dir, NULL, &probe_info_fops);
	debugfs_create_file("devices", 0444, probe_dir, NULL, &probe_devices_fops);
	debugfs_create_file("error", 0444, probe_dir, NULL, &probe_error_fops);
	ret = refprobe_stress_init(probe_dir);
	if (ret)
		goto err_dir;
	ret = refprobe_irq_init(probe_dir);
	if (ret)
		goto err_stress;
	ret = refprobe_bench_init(probe_dir);
	if (ret)
		goto err_stress;
	pr_info("loaded (variant %s%s)\n", probe_variant,
		fault_hold_twice ? ", fault_hold_twice" : "");
	return 0;

err_stress:
	refprobe_stress_exit();
err_dir:
	debugfs_remove_recursive(probe_dir);
err_notifier:
	unregister_netdevice_notifier(&probe_notifier);
	return ret;
}

static void __exit refprobe_exit(void)
{
	struct probe_dev *pd, *tmp;

	/*
	 * A synchronous unregister may be waiting, inside a ctl write, for
	 * references our notifier holds until a rebroadcast that may never
	 * come: let them go first, or removing the files below (which waits
	 * for that write) would wait forever.
	 */
	mutex_lock(&probe_lock);
	list_for_each_entry(pd, &probe_devs, node)
		if (!pd->dummy)
			probe_notifier_put(pd->dev);
	mutex_unlock(&probe_lock);
	/* No command can start once the files are gone. */
	debugfs_remove_recursive(probe_dir);
	refprobe_bench_exit();
	refprobe_stress_exit();
	mutex_lock(&probe_lock);
	list_for_each_entry_safe(pd, tmp, &probe_devs, node)
		probe_drop_all(pd);
	probe_free_bulk();
	mutex_unlock(&probe_lock);
	unregister_netdevice_notifier(&probe_notifier);
	pr_info("unloaded\n");
}

module_init(refprobe_init);
module_exit(refprobe_exit);
MODULE_DESCRIPTION("Exercise and report the net_device reference count");
MODULE_AUTHOR("pcpu-refcnt-harness");
MODULE_LICENSE("GPL");
