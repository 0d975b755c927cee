/**
 * Bad input to the module, scripted: each command must be refused with the
 * errno and message kmod/README.md documents, leave the device untouched,
 * and leave the console free of WARN/BUG/oops (any finding fails the
 * scenario as a crash). The device "rpbad" exists (alloc'ed on the first
 * online CPU) when the table runs.
 */
import { alloc, free, newDevice } from './device-ops.js';
import type { Scenario } from './scenario.js';

export const BAD_INPUT: readonly [command: string, errno: string, message: RegExp][] = [
  ['bogus', 'Invalid argument', /unknown command 'bogus'/],
  ['', 'Invalid argument', /empty command/],
  ['hold nosuchdev 0 1', 'No such file or directory', /no device 'nosuchdev'/],
  ['alloc rpbad 0', 'File exists', /device 'rpbad' exists/],
  // At most 64 CPUs are possible (--topology caps P at 64): CPU 64 never is.
  ['hold rpbad 64 1', 'Invalid argument', /CPU 64 is not possible/],
  ['hold rpbad 4294967296 1', 'Invalid argument', /is not a number/],
  ['hold rpbad x 1', 'Invalid argument', /CPU 'x' is not a number/],
  ['hold rpbad 0 0', 'Invalid argument', /count '0' is not a positive integer/],
  ['hold rpbad 0 -5', 'Invalid argument', /count '-5' is not a positive integer/],
  ['hold rpbad 0 2000000', 'Numerical result out of range', /above the limit 1000000/],
  ['hold rpbad 0 1x', 'Invalid argument', /not a positive integer/],
  ['put rpbad 0 1', 'Invalid argument', /only 0 references held/],
  ['register rpbad', 'Invalid argument', /usage: register NAME CPU/],
  ['alloc bad/name 0', 'Invalid argument', /not a valid interface name/],
  ['alloc waytoolongname0123 0', 'Invalid argument', /not a valid interface name/],
  ['unregister rpbad', 'Device or resource busy', /not registered/],
  ['hold rpbad 0 1 extra', 'Invalid argument', /usage: hold NAME CPU COUNT/],
  ['hold rpbad 0 1 a b c d e f', 'Invalid argument', /too many words/],
  ['stress rpbad 1 0 64', 'Numerical result out of range', /ops 0 is out of range/],
  ['stress rpbad x 10 64', 'Invalid argument', /seed 'x' is not a number/],
  ['stress rpbad 1 10 0', 'Numerical result out of range', /cap 0 is out of range 1\.\.1000000/],
  ['stress rpbad 1 10', 'Invalid argument', /usage: stress NAME SEED OPS CAP/],
  // dev_valid_name() allows '%', but alloc_netdev() would expand it and the device would be lost.
  ['alloc rp%d 0', 'Invalid argument', /'rp%d' is not a valid interface name/],
  ['dummy rp%s', 'Invalid argument', /not a valid interface name/],
  // A command of 128 bytes or more is refused with a message too, not only an errno.
  [`hold rpbad 0 1 ${'x'.repeat(120)}`, 'Invalid argument', /a command is 1 to 127 bytes/],
  ['hold_notifier rpbad 0 1', 'Device or resource busy', /'rpbad' is not registered/],
  ['hold_rebroadcast rpbad 0 1', 'Device or resource busy', /'rpbad' is not registered/],
  ['drop_notifier nosuchdev', 'No such file or directory', /no device 'nosuchdev'/],
  ['dummy_bulk 0', 'Numerical result out of range', /count 0 is out of range/],
  ['race rpbad 0 0 0 10 4', 'Invalid argument', /three different CPUs/],
  ['race rpbad 0 0 0 10 0', 'Numerical result out of range', /window 0 is out of range/],
  ['irq rpbad 0 0 10 5 100 99', 'Invalid argument', /the interrupts of CPU 0 must come from another CPU/],
  ['irq rpbad 0 timer 10 11 100 99', 'Numerical result out of range', /soft 11 is out of range 0\.\.10/],
  ['irq rpbad 0 timer 10 5 100 101', 'Numerical result out of range', /pput 101 is out of range 0\.\.100/],
  ['irq rpbad 0 timer 0 0 100 99', 'Numerical result out of range', /hard 0 is out of range 1\.\.1000000/],
  ['irq rpbad 0 timer 10 5 100', 'Invalid argument', /usage: irq NAME CPU FROM_CPU\|timer HARD SOFT PHOLD PPUT/],
  ['alloc_bulk 0', 'Numerical result out of range', /count 0 is out of range/],
  ['alloc_bulk 16385', 'Numerical result out of range', /count 16385 is out of range 1\.\.16384/],
  ['free_bulk', 'No such file or directory', /no bulk devices/],
];

export const badInput: Scenario = {
  name: 'bad-input',
  claim: 'every malformed or impossible command is refused with its errno and message, never an oops',
  async run(ctx) {
    const dev = newDevice(ctx, 'rpbad');
    await alloc(ctx, dev, ctx.info.topology.online[0] ?? 0);
    for (const [command, errno, message] of BAD_INPUT) {
      const r = await ctx.probe.ctl(command);
      ctx.steps.checkValue(
        `refused: "${command}"`,
        { refused: true, errno, message: true },
        { refused: !r.ok, errno: r.errno, message: message.test(r.error) || r.error },
        r.error,
      );
    }
    await ctx.steps.check(`${dev.name} untouched by all of it`, dev);
    await free(ctx, dev);
  },
};
