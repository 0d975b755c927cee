/**
 * Patches as the harness takes them: a unified diff with a/ and b/ prefixes
 * (`git diff`, `diff -u a/FILE b/FILE`) or a `git format-patch` mbox, one
 * or several patches per file. Pure: what a patch touches, and which of its
 * hunks patch(1) rejected, to show the user the hunk itself.
 */

export interface Patch {
  /** Where it came from: a file name, or vm/mutants/<variant>/<name>. */
  name: string;
  /** Source files the patch touches, relative to the tree (-p1). */
  files: string[];
  text: string;
}

export function parsePatch(name: string, text: string): Patch {
  const plus = [...text.matchAll(/^\+\+\+ (\S+)/gm)].map((m) => m[1] as string);
  if (plus.length === 0) throw new Error(`${name}: no "+++ b/FILE" line: not a unified diff (give \`git diff\`, \`git format-patch\` or \`diff -u a/FILE b/FILE\` output)`);
  const files: string[] = [];
  for (const [i, p] of plus.entries()) {
    // A deleted file names itself on the --- line.
    const f = p === '/dev/null' ? [...text.matchAll(/^--- (\S+)/gm)][i]?.[1] : p;
    if (!f || !/^[ab]\//.test(f)) throw new Error(`${name}: "${p}" has no a/ or b/ prefix: the harness applies patches with -p1, as \`git diff\` writes them`);
    files.push(f.slice(2));
  }
  return { name, files: [...new Set(files)], text };
}

export interface RejectedHunk {
  file: string;
  /** 1-based, counted within the file's part of the patch, as patch(1) numbers them. */
  hunk: number;
  /** The hunk's text, header line first; empty when it cannot be found. */
  text: string;
}

/** The hunks patch(1) says FAILED (its output), each with its text from the patch. */
export function rejectedHunks(patchText: string, output: string): RejectedHunk[] {
  const out: RejectedHunk[] = [];
  let file = '';
  for (const line of output.split('\n')) {
    const f = /^(?:patching|checking) file (.+)$/.exec(line);
    if (f) file = (f[1] as string).replace(/^'|'$/g, '');
    const h = /^Hunk #(\d+) FAILED/.exec(line);
    if (h && file) out.push({ file, hunk: Number(h[1]), text: hunkText(patchText, file, Number(h[1])) });
  }
  return out;
}

function hunkText(patchText: string, file: string, n: number): string {
  const lines = patchText.split('\n');
  let inFile = false;
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.startsWith('+++ ')) inFile = l.slice(4).split(/\s/)[0]?.replace(/^[ab]\//, '') === file;
    if (!inFile || !l.startsWith('@@ ')) continue;
    if (++seen !== n) continue;
    const body = [l];
    for (let j = i + 1; j < lines.length && /^[ +\-\\]/.test(lines[j] as string) && !(lines[j] as string).startsWith('--- '); j++) body.push(lines[j] as string);
    return body.join('\n');
  }
  return '';
}
