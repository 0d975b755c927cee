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
  ['hold rpbad 7 1', 'Invalid argument', /CPU 7 is not possible/],
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
  ['hold rpbad 0 1 extra', 'Invalid argument', /too many words/],
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
