/**
 * Passes TAP from the test runner through and ends with the line CI reads:
 * "N passed, N failed", counting the tests inside each test file (the
 * subtests one level down), so a failing assertion fails its test.
 */
import { createInterface } from 'node:readline';

let passed = 0;
let failed = 0;
let skipped = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const m = /^ {4}(not )?ok \d+ .*?(# SKIP.*)?$/.exec(line);
  if (!m) return;
  if (m[2]) skipped++;
  else if (m[1]) failed++;
  else passed++;
});
rl.on('close', () => {
  process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
});
