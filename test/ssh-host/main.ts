#!/usr/bin/env node
/**
 * `make debian-vm`: a real Debian 12 machine to try `vm-test --target` on,
 * booted in QEMU and reachable only over SSH on 127.0.0.1 (the same image
 * make test's ssh suite uses). Prints the commands to reach it and waits
 * for Ctrl-C. Wiring only: test/ssh-host/debian-image.ts and debian-vm.ts.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError } from '../../src/errors.js';
import { intOption, oneOf } from '../../src/cli/options.js';
import { abortOnSignals } from '../../src/cli/interrupt.js';
import { debianImage } from './debian-image.js';
import { bootDebianVm } from './debian-vm.js';
import { answerVersion } from '../../src/cli/version.js';
import { parseCommandLine } from '../../src/cli/options.js';

const HELP = `Usage: debian-vm [--cpus N] [--memory MB] [--accel auto|kvm|tcg] [--build-only]      (make debian-vm ARGS="...")

Builds (once, cached: mmdebstrap from Debian's mirror, a few minutes) and
boots a Debian 12 system with systemd, openssh-server, Debian's kernel and
headers, gcc and make, its disk a snapshot of the image. sshd is forwarded
to a free port on 127.0.0.1 only; root logs in with the image's key, its
host key pinned. Prints the ssh and vm-test --target command lines, then
waits until Ctrl-C and stops the VM.

  --cpus N        vCPUs, 1-64 (default 2)
  --memory MB     256-16384 (default 1024)
  --accel A       auto (default), kvm or tcg
  --build-only    build the image (or find it cached) and exit; make test
                  runs this in the background while its other suites run
  --version       the harness's version and commit
  -h, --help      this text
`;

async function main(): Promise<number> {
  if (await answerVersion('debian-vm')) return 0;
  const v = parseCommandLine('debian-vm', { args: process.argv.slice(2), options: { help: { type: 'boolean', short: 'h' }, cpus: { type: 'string' }, memory: { type: 'string' }, accel: { type: 'string' }, 'build-only': { type: 'boolean' } } }).values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const progress = (l: string): void => void process.stderr.write(`debian-vm: ${l}\n`);
  const interrupt = abortOnSignals('debian-vm', 'stopping the VM');
  const image = await debianImage(progress, interrupt.signal);
  if (v['build-only']) {
    process.stdout.write(`${image.dir}\n`);
    return 0;
  }
  const dir = path.resolve('out', 'debian-vm');
  await mkdir(dir, { recursive: true });
  const vm = await bootDebianVm({
    image,
    qemu: 'qemu-system-x86_64',
    accel: oneOf('accel', v.accel, ['auto', 'kvm', 'tcg'] as const, 'auto'),
    cpus: intOption('cpus', v.cpus, 2, 1, 64),
    memoryMb: intOption('memory', v.memory, 1024, 256, 16384),
    consoleLog: path.join(dir, 'console.log'),
    bootTimeoutSec: 300,
    progress,
  });
  const o = vm.sshOptions.map((x) => `-o ${x}`).join(' ');
  process.stdout.write(
    `ssh -i ${vm.identity} ${o} -p ${vm.port} root@127.0.0.1\n` +
      `node dist/harness/vm-test.js --target ${vm.url} --identity ${vm.identity} ${vm.sshOptions.map((x) => `--ssh-option ${x}`).join(' ')}\n`,
  );
  progress('up; Ctrl-C stops it');
  await new Promise<void>((resolve) => {
    interrupt.signal.addEventListener('abort', () => resolve());
    void vm.qemu.exited.then(() => resolve());
  });
  await vm.stop();
  return interrupt.signal.aborted ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(e instanceof HarnessError ? `debian-vm: ${e.message}\n` : `debian-vm: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
