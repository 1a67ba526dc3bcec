// The raw mirror (--keep-raw): verified day files kept under <cache dir>/raw/<key>, so another
// symbol can be extracted later with no download, and --offline can work from them alone.
//
// Every file appears under its name whole: it is written under a temporary name, synced and
// renamed. A body's `<key>.meta.json` (size, ETag, LastModified) is what --offline lists; one that
// cannot be read is a day the mirror lacks, and the next online run over the day writes it again.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { monthsBetween } from '../market-time.js';
import { verifyBody } from '../integrity/verify.js';
import { dayOfKey } from '../s3/list.js';
import type { DayFile } from '../types.js';

type MirroredFile = { key: string; size: number; etag: string; lastModified?: string | undefined };

interface Meta {
  size: number;
  etag: string;
  lastModified: string | undefined;
}

const META = '.meta.json';

/** The temporary names of the mirror: `<final name>.<12 hex digits>.tmp`. */
const TEMP_NAME = /\.[0-9a-f]{12}\.tmp$/;

/**
 * A temporary file untouched for this long is what a crash left: a live writer touches its file
 * with every chunk, and a stalled download is cut after its request timeout. Age is the test, not
 * a pid: several processes, on several machines, may share one cache.
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** When each directory was last swept, by this thread. */
const swept = new Map<string, number>();

/**
 * The mirror path of a key. Keys reaching here were accepted by `dayOfKey`, but the path is
 * checked again: nothing is ever written outside the mirror directory.
 */
export function rawPath(rawDir: string, key: string): string {
  const root = resolve(rawDir);
  const path = resolve(root, key);
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep) || resolve(root, rel) !== path) {
    throw new RangeError(`Refusing a key outside the mirror: ${JSON.stringify(key)}`);
  }
  return path;
}

/**
 * The mirrored body of a file if it is there and still matches the listing (size, and MD5 where
 * the ETag is one). Read whole: for day files only; files above `streamAboveBytes` stream from
 * the mirror instead (`streamFromMirror` in pool/stream.ts), as their downloads do.
 *
 * A body that matches but whose meta file is missing or unreadable (a crash between the two, or
 * a torn write by an older version) gets its meta file back, so --offline sees the day again.
 */
export async function readRaw(rawDir: string, file: MirroredFile): Promise<Buffer | undefined> {
  const path = rawPath(rawDir, file.key);
  const body = await readFile(path).catch(() => undefined);
  if (!body) return undefined;
  try {
    verifyBody(file.key, body, file);
  } catch {
    return undefined; // stale or damaged: download it again
  }
  await repairMeta(rawDir, file);
  return body;
}

/**
 * Writes the meta file of a verified mirrored body again if it is missing, unreadable or
 * describes another version. Best effort: the body is good either way (a read-only mirror, say).
 */
export async function repairMeta(rawDir: string, file: MirroredFile): Promise<void> {
  const path = rawPath(rawDir, file.key);
  const meta = await readMeta(`${path}${META}`);
  const same = meta !== undefined && meta.size === file.size && meta.etag === file.etag && (file.lastModified === undefined || meta.lastModified === file.lastModified);
  if (!same) await writeMeta(path, file).catch(() => undefined);
}

/** Writes a verified body under a temporary name and renames it into place: never a partial file. */
export async function writeRaw(rawDir: string, file: MirroredFile, body: Uint8Array): Promise<void> {
  const writer = await createRawWriter(rawDir, file);
  try {
    await writer.write(body);
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * The mirrored day files of a window, as a listing would give them (for --offline). A key whose
 * meta file cannot be read is not listed (the mirror lacks that day) but named in `unreadable`.
 */
export async function listRaw(rawDir: string, dataset: string, start: string, end: string): Promise<{ files: DayFile[]; emptyMonths: string[]; unreadable: string[] }> {
  const files: DayFile[] = [];
  const emptyMonths: string[] = [];
  const unreadable: string[] = [];
  for (const month of monthsBetween(start, end)) {
    const dir = join(rawDir, dataset, month);
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.length > 0) await sweepOnce(dir);
    let found = 0;
    for (const name of names) {
      if (!name.endsWith(META)) continue;
      const key = `${dataset}/${month}/${name.slice(0, -META.length)}`;
      const day = dayOfKey(dataset, key);
      if (day === undefined || day < start || day > end) continue;
      const meta = await readMeta(join(dir, name));
      if (meta === undefined) {
        unreadable.push(key);
        continue;
      }
      files.push({ key, day, size: meta.size, etag: meta.etag, lastModified: meta.lastModified });
      found += 1;
    }
    if (found === 0) emptyMonths.push(month.replace('/', '-'));
  }
  return { files, emptyMonths, unreadable };
}

/**
 * Removes the mirror's temporary files in `dir` (not below it) that are older than `olderThanMs`,
 * and nothing else. Returns how many it removed. Never throws: a file it cannot remove (a
 * read-only mirror) stays, and the run goes on.
 */
export async function sweepStaleTemp(dir: string, olderThanMs = STALE_TEMP_MS, now = Date.now()): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile() || now - info.mtimeMs < olderThanMs) continue;
    if (await rm(path, { force: true }).then(() => true, () => false)) removed += 1;
  }
  return removed;
}

/** A mirror file written as it streams in: nothing appears under the key's name until `commit`. */
export interface RawWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function createRawWriter(rawDir: string, file: MirroredFile): Promise<RawWriter> {
  const path = rawPath(rawDir, file.key);
  await mkdir(dirname(path), { recursive: true });
  await sweepOnce(dirname(path));
  const tmp = tempName(path);
  const handle = await open(tmp, 'w');
  const cleanup = async (): Promise<void> => {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
  };
  return {
    write: async (chunk) => {
      await handle.write(chunk);
    },
    commit: async () => {
      await handle.sync();
      await handle.close();
      // The body first: a meta file never describes a body that is not there.
      await rename(tmp, path);
      await writeMeta(path, file);
    },
    abort: cleanup,
  };
}

function tempName(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Sweeps a directory the first time this thread writes or lists in it, and again an hour on. */
async function sweepOnce(dir: string): Promise<void> {
  const now = Date.now();
  const last = swept.get(dir);
  if (last !== undefined && now - last < STALE_TEMP_MS) return;
  swept.set(dir, now);
  await sweepStaleTemp(dir, STALE_TEMP_MS, now);
}

/** The meta file of the body at `path`: written whole, synced, then renamed over the old one. */
async function writeMeta(path: string, file: MirroredFile): Promise<void> {
  const meta: Meta = { size: file.size, etag: file.etag, lastModified: file.lastModified };
  const target = `${path}${META}`;
  const tmp = tempName(target);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(meta));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** A meta file's contents, or undefined if it is missing, torn or not what this module writes. */
async function readMeta(path: string): Promise<Meta | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { size, etag, lastModified } = value as Record<string, unknown>;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof etag !== 'string' || etag === '') return undefined;
  if (lastModified !== undefined && typeof lastModified !== 'string') return undefined;
  return { size, etag, lastModified };
}
