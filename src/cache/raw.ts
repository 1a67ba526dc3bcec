// The raw mirror (--keep-raw): verified day files kept under <cache dir>/raw/<key>, so another
// symbol can be extracted later with no download, and --offline can work from them alone.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { monthsBetween } from '../dates.js';
import { verifyBody } from '../integrity/verify.js';
import { dayOfKey } from '../s3/list.js';
import type { DayFile } from '../types.js';

type MirroredFile = { key: string; size: number; etag: string; lastModified?: string | undefined };

interface Meta {
  size: number;
  etag: string;
  lastModified: string | undefined;
}

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
 */
export async function readRaw(rawDir: string, file: { key: string; size: number; etag: string }): Promise<Buffer | undefined> {
  const body = await readFile(rawPath(rawDir, file.key)).catch(() => undefined);
  if (!body) return undefined;
  try {
    verifyBody(file.key, body, file);
    return body;
  } catch {
    return undefined; // stale or damaged: download it again
  }
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

/** The mirrored day files of a window, as a listing would give them (for --offline). */
export async function listRaw(rawDir: string, dataset: string, start: string, end: string): Promise<{ files: DayFile[]; emptyMonths: string[] }> {
  const files: DayFile[] = [];
  const emptyMonths: string[] = [];
  for (const month of monthsBetween(start, end)) {
    const dir = join(rawDir, dataset, month);
    const names = await readdir(dir).catch(() => [] as string[]);
    let found = 0;
    for (const name of names) {
      if (!name.endsWith('.meta.json')) continue;
      const key = `${dataset}/${month}/${name.slice(0, -'.meta.json'.length)}`;
      const day = dayOfKey(dataset, key);
      if (day === undefined || day < start || day > end) continue;
      const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as Meta;
      files.push({ key, day, size: meta.size, etag: meta.etag, lastModified: meta.lastModified });
      found += 1;
    }
    if (found === 0) emptyMonths.push(month.replace('/', '-'));
  }
  return { files, emptyMonths };
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
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
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
      await handle.close();
      const meta: Meta = { size: file.size, etag: file.etag, lastModified: file.lastModified };
      // The body first: a meta file never describes a body that is not there.
      await rename(tmp, path);
      await writeFile(`${path}.meta.json`, JSON.stringify(meta));
    },
    abort: cleanup,
  };
}
