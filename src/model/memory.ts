/**
 * What a net_device costs in per-CPU memory, and how exactly /proc/meminfo
 * can show it. Pure.
 *
 * alloc_netdev_mqs() does alloc_percpu(int) for the reference count on a
 * per-CPU kernel: 4 bytes in every per-CPU *unit* (mm/percpu.c), and the
 * allocator has at least one unit per possible CPU, sometimes more (units
 * come in groups rounded up to the allocation atom: 5 possible CPUs, 6
 * units). A refcount_t lives inside the net_device: nothing per-CPU. A dummy
 * device (init_dummy_netdev) gets no counter in 6.1: nothing either.
 *
 * Percpu: in /proc/meminfo is populated pages x units x PAGE_SIZE, so it
 * moves in whole pages per unit. Measured settled (the allocator's balance
 * work done) before and after N allocations, the two fill levels each sit
 * in a page that is partly used: the delta is the true cost within one page
 * per unit at each end, two in all. That is the bound: 2 x 4096 x units / N
 * bytes per device (0.5 B per unit at N = 16384).
 */
import type { Variant } from './types.js';

export const PAGE_SIZE = 4096;
/** sizeof(int): what alloc_percpu(int) takes in every unit. */
export const COUNTER_BYTES = 4;

export function perDeviceBytes(variant: Variant, units: number, dummy = false): number {
  return variant === 'pcpu' && !dummy ? COUNTER_BYTES * units : 0;
}

/** The error of a settled Percpu: delta over n objects, per object. */
export function meminfoBound(units: number, n: number): number {
  return (2 * PAGE_SIZE * units) / n;
}
