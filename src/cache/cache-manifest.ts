/**
 * What a cache entry held when it was written: each file's size and
 * SHA-256, so a later run can tell an entry it can trust from one a full
 * disk, a stray editor or a bad sector changed. An entry that exists is not
 * an entry that is right: a module with two bytes changed loads and gives
 * wrong readings against a correct kernel.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST = '.refprobe-manifest.json';

/**
 * Files up to this size are hashed whole. Larger ones (the SSH suite's 3 GiB
 * disk image) by their size and their first and last MiB: whole, they would
 * cost seconds on every use, and a cut or an emptied file still shows.
 */
const WHOLE_LIMIT = 256 * 1024 * 1024;
const SAMPLE = 1024 * 1024;

export type FileRecord = { size: number; sha256: string; sampled?: true } | { link: string };
export interface Manifest {
  version: 1;
  /**
   * Sizes only, no hashes: for an unpacked kernel source (80,000 files,
   * 1.3 GB), hashed whole it cost 26-34 s per run; its files come from a
   * package apt verified, and a cut or emptied file still shows.
   */
  sizesOnly?: true;
  files: Record<string, FileRecord>;
}

async function hashWhole(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function hashSampled(file: string, size: number): Promise<string> {
  const h = createHash('sha256');
  const fd = await open(file, 'r');
  try {
    for (const at of [0, size - SAMPLE]) {
      const buf = Buffer.alloc(SAMPLE);
      const { bytesRead } = await fd.read(buf, 0, SAMPLE, at);
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fd.close();
  }
  return h.digest('hex');
}

export async function record(file: string, sizesOnly = false): Promise<FileRecord | null> {
  const st = await lstat(file);
  if (st.isSymbolicLink()) return { link: await readlink(file) };
  if (!st.isFile()) return null;
  if (sizesOnly) return { size: st.size, sha256: '' };
  if (st.size > WHOLE_LIMIT) return { size: st.size, sha256: await hashSampled(file, st.size), sampled: true };
  return { size: st.size, sha256: await hashWhole(file) };
}

async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (r === MANIFEST) continue;
    if (e.isDirectory()) out.push(...(await walk(root, r)));
    else out.push(r);
  }
  return out.sort();
}

/** Reads every file under `dir` and records it. */
export async function describeEntry(dir: string, sizesOnly = false): Promise<Manifest> {
  const files: Record<string, FileRecord> = {};
  for (const rel of await walk(dir)) {
    const rec = await record(path.join(dir, rel), sizesOnly);
    if (rec) files[rel] = rec;
  }
  return sizesOnly ? { version: 1, sizesOnly, files } : { version: 1, files };
}

/** Written whole or not at all (temp + rename): a manifest cut by a full disk would read as damage, never as trust. */
export async function writeManifest(dir: string, sizesOnly = false): Promise<void> {
  const file = path.join(dir, MANIFEST);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(await describeEntry(dir, sizesOnly))}\n`);
  await rename(tmp, file);
}

/**
 * The entry's manifest: 'none' when the file does not exist (an entry
 * written before manifests), 'unreadable' when it exists but cannot be read
 * or is not one (damage like any other).
 */
export async function readManifest(dir: string): Promise<Manifest | 'none' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST), 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'none' : 'unreadable';
  }
  try {
    const m = JSON.parse(text) as Manifest;
    const ok = m.version === 1 && typeof m.files === 'object' && m.files !== null && !Array.isArray(m.files);
    return ok ? m : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** How one file differs from its record, in words; null when it matches. Pure. */
export function fileDamage(rel: string, want: FileRecord, got: FileRecord | null): string | null {
  if (!got) return `${rel} is missing`;
  if ('link' in want) return 'link' in got && got.link === want.link ? null : `${rel} no longer links to ${want.link}`;
  if ('link' in got) return `${rel} became a link`;
  if (got.size !== want.size) return `${rel} is ${got.size} bytes, written as ${want.size}`;
  if (got.sha256 !== want.sha256) return `${rel} has the size it was written with but other content (SHA-256 ${got.sha256.slice(0, 12)}, written ${want.sha256.slice(0, 12)})`;
  return null;
}

/**
 * What is wrong with the entry at `dir` against its manifest, or null when
 * every recorded file is as written. Files added since are not damage (a
 * kbuild tree may gain a file); files changed, cut or gone are.
 */
export async function entryDamage(dir: string, manifest: Manifest, sizesOnly = false): Promise<string | null> {
  const sizes = sizesOnly || manifest.sizesOnly === true;
  for (const [rel, want] of Object.entries(manifest.files)) {
    if (typeof want !== 'object' || want === null) return `${MANIFEST} has no record for ${rel}`;
    const got = await record(path.join(dir, rel), sizes).catch(() => null);
    // Sizes only: a recorded hash is not compared (the file was not read).
    const why = fileDamage(rel, sizes && 'size' in want ? { size: want.size, sha256: '' } : want, got);
    if (why) return why;
  }
  return null;
}
