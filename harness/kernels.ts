#!/usr/bin/env node
/** `make kernels`: builds (or reuses) the kernel variants from linux-source-6.1 and linux-source-6.12. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../src/errors.js';
import { buildVariant } from '../src/kernel/build-variant.js';
import { isVariant, KINDS, SOURCES, VARIANT_NAMES, variantOf, type VariantName } from '../src/kernel/variants.js';
import { abortOnSignals, wasInterrupted } from '../src/cli/interrupt.js';
import { answerVersion } from '../src/cli/version.js';
import { parseCommandLine } from '../src/cli/options.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const HELP = `Usage: kernels [--variant NAME]...      (make kernels ARGS="...")

Builds the minimal guest kernels from Debian's kernel sources, one per
variant and release, with the fragments in vm/kernel-config/ on top of
tinyconfig (the same fragments for both releases):
${VARIANT_NAMES.map((n) => `  ${n.padEnd(14)} ${SOURCES[variantOf(n).release].package}: ${KINDS[variantOf(n).kind].what}`).join('\n')}
Each is built in the cache (~/.cache/pcpu-refcnt-harness/kernels/src-<variant>-<key>/build/,
or $REFPROBE_CACHE_DIR), the first of a release about 6 minutes on 2 idle
cores, each other from its objects, and reused until the source or a
fragment changes. The build log is build.log in that directory.
Then: make vm-test ARGS="--kernel pcpu" (or pcpu-6.12, or --kernels pcpu,pcpu-6.12)

  --variant NAME   build only NAME (repeatable; default: all)
  --version        the harness's version and commit
  -h, --help       this text
`;

async function main(): Promise<number> {
  if (await answerVersion('kernels')) return 0;
  const parsed = parseCommandLine('kernels', { options: { variant: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } });
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const names = (values.variant ?? VARIANT_NAMES).map((n) => {
    if (!isVariant(n)) throw new HarnessError(`no kernel variant "${n}"`, `pass --variant with one of: ${VARIANT_NAMES.join(', ')}`);
    return n;
  });
  const ac = abortOnSignals('kernels', 'stopping the build (it resumes next time)');
  const progress = (line: string): void => void process.stderr.write(`kernels: ${line}\n`);
  const rows: string[] = [];
  for (const name of names as VariantName[]) {
    const b = await buildVariant(name, { repoRoot, progress, signal: ac.signal }).catch((e: unknown) => {
      // A build stopped by a signal is no failed build: say so, exit 130.
      if (ac.signal.aborted) return null;
      throw e;
    });
    if (!b) {
      progress(`${name}: interrupted; the next make kernels resumes the build`);
      return 130;
    }
    rows.push(`${name.padEnd(14)} ${b.release.padEnd(20)} ${(b.reused ? 'reused' : `built in ${b.seconds} s`).padEnd(18)} ${b.dir}`);
    progress(`${name}: ${b.reused ? 'up to date' : `built in ${b.seconds} s`}`);
  }
  process.stdout.write(`${[`${'variant'.padEnd(14)} ${'release'.padEnd(20)} ${'status'.padEnd(18)} tree`, ...rows].join('\n')}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(e instanceof HarnessError ? `kernels: ${e.message}\n` : `kernels: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(wasInterrupted() ? 130 : 2);
  },
);
