/** Paths of saved real outputs, for the unit tests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/ (compiled) or test/ (source). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), fileURLToPath(import.meta.url).includes('/dist/') ? '../..' : '..');

export function fixture(name: string): string {
  return readFileSync(path.join(repoRoot, 'test/fixtures', name), 'utf8');
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(path.join(repoRoot, 'test/fixtures', name));
}
