/**
 * The layout tells the flow: imports point down only. Reads every relative
 * import under src/ and fails on a cycle between files or between folders
 * (a backend counts as its own folder: backend/qemu, backend/ssh), and on a
 * backend that reaches up into the run, the scenarios, the probe or the report.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../fixtures.js';

const SRC = path.join(repoRoot, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** file -> the files it imports (relative imports, type-only and re-exports included). */
function importGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of tsFiles(SRC)) {
    const text = readFileSync(f, 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      deps.add(path.resolve(path.dirname(f), (m[1] as string).replace(/\.js$/, '.ts')));
    }
    g.set(f, deps);
  }
  return g;
}

/** The folder a file belongs to in the flow: src/X, or src/backend/Y for a backend's own folder. */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return parts[0]?.replace(/\.ts$/, '') ?? '';
  if (parts[0] === 'backend' && parts.length > 2) return `backend/${parts[1]}`;
  return parts[0] ?? '';
}

/** Strongly connected components of more than one node (Tarjan). */
function cycles(g: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let i = 0;
  const visit = (v: string): void => {
    index.set(v, i);
    low.set(v, i++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        on.delete(w);
        c.push(w);
        if (w === v) break;
      }
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

t.test('no import cycle between files or between folders of src/', async (t) => {
  const files = importGraph();
  t.ok(files.size > 100, `read ${files.size} files`);
  t.same(cycles(files).map((c) => c.map((f) => path.relative(SRC, f))), [], 'no file-level cycle');
  const folders = new Map<string, Set<string>>();
  for (const [f, deps] of files) {
    const from = folderOf(f);
    const set = folders.get(from) ?? new Set<string>();
    for (const d of deps) if (folderOf(d) !== from) set.add(folderOf(d));
    folders.set(from, set);
  }
  t.same(cycles(folders), [], 'no folder-level cycle');
  for (const b of ['backend/qemu', 'backend/ssh', 'backend/agent', 'backend']) {
    const up = [...(folders.get(b) ?? [])].filter((d) => ['run', 'scenarios', 'probe', 'report', 'cli', 'bench'].includes(d));
    t.same(up, [], `${b} imports nothing above the backend`);
  }
});

t.test('the cycle finder finds a cycle (the check can fail)', async (t) => {
  const g = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
    ['d', new Set(['a'])],
  ]);
  t.same(cycles(g), [['a', 'b', 'c']]);
});
