import t from 'tap';
import { classifyConsole, unexpected, waitingDevice } from '../../src/crash/classify.js';
import { fixture } from '../fixtures.js';

t.test('a clean boot of the stock kernel has no findings', async (t) => {
  t.same(classifyConsole(fixture('console-6.1-pc-clean-boot.log')), []);
});

t.test('the microvm TSC hang is not a crash pattern (it is caught by the boot timeout)', async (t) => {
  t.same(classifyConsole(fixture('console-6.1-microvm-tsc-hang.log')), []);
});

t.test('sysrq crash: a panic with its excerpt', async (t) => {
  const f = classifyConsole(fixture('console-6.1-sysrq-panic.log'));
  t.equal(f[0]?.kind, 'panic');
  t.equal(f[0]?.title, 'kernel panic: sysrq triggered crash');
  t.match(f[0]?.excerpt ?? '', /Kernel panic - not syncing/);
  t.ok((f[0]?.line ?? 0) > 300, 'line numbers point into the log');
});

t.test('unregister wait: the device and the usage count', async (t) => {
  const f = classifyConsole(fixture('console-6.1-unregister-wait.log'));
  t.equal(f.length, 2, 'one line per netdev_unregister_timeout_secs');
  t.equal(f[0]?.kind, 'unregister-wait');
  t.equal(f[0]?.title, 'unregister_netdevice: waiting for rpwait0 (usage count 3)');
  t.same(unexpected(f, ['unregister-wait']), [], 'a scenario can expect it');
});

t.test('the other patterns, on lines in the kernel formats', async (t) => {
  const log = [
    '[    5.1] refcount_t: decrement hit 0; leaking memory.',
    '[    5.2] WARNING: CPU: 1 PID: 77 at lib/refcount.c:31 refcount_warn_saturate+0xba/0x110',
    '[    5.3] BUG: kernel NULL pointer dereference, address: 0000000000000000',
    '[    5.4] Oops: 0002 [#1] PREEMPT SMP NOPTI',
    '[    5.5] general protection fault, probably for non-canonical address 0xdead: 0000 [#1]',
    '[    5.6] rpt0@ffff888003e4c000 has 1/1 users at',
    '[    5.6] ref_tracker: net/core/dev.c leaked reference.',
    '[  123.0] INFO: task kworker/0:1:12 blocked for more than 120 seconds.',
    '[  124.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:',
  ].join('\n');
  t.same(
    classifyConsole(log).map((f) => f.kind),
    ['refcount', 'warning', 'bug', 'oops', 'oops', 'ref-leak', 'hung-task', 'rcu-stall'],
  );
});

t.test('the device an unregister-wait finding names: a later scenario is not blamed for it', async (t) => {
  const [wait] = classifyConsole('[   94.661687] unregister_netdevice: waiting for rpoffl0 to become free. Usage count = 3');
  t.equal(wait && waitingDevice(wait), 'rpoffl0');
  const [warn] = classifyConsole('WARNING: CPU: 0 PID: 0 at lib/refcount.c:31 refcount_warn_saturate+0xb8/0xda');
  t.equal(warn && waitingDevice(warn), null, 'any other finding names no device');
});
