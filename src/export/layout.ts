// Where an export's files go, and how they get there: everything is written under a staging
// directory inside `out` (`.tmp-<random>`), then each partition it covers is swapped into place
// by rename. An export that fails or is stopped before the swap leaves the previous one whole.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import type { ExportFormat, ExportPartition } from './types.js';

/** The file that says a directory is one of our exports. */
export const MARKER = '_preload-market-data.json';
const STAGING_PREFIX = '.tmp-';

/** What the marker records of each interval exported into the directory. */
export interface MarkerInterval {
  format: ExportFormat;
  partition: ExportPartition;
  adjust: string;
  exportedAt: string;
}

export interface Marker {
  tool: 'preload-market-data';
  version: 1;
  intervals: Record<string, MarkerInterval>;
}

/**
 * A partition value safe as one path segment on any file system: every byte outside
 * `A-Z a-z 0-9 . _ -` percent-encoded (`I:SPX` -> `I%3ASPX`), and a value of dots only
 * encoded whole, so no value is ever `.` or `..` or holds a separator.
 */
export function encodePartitionValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out === '' || /^\.+$/.test(out)) return out.replace(/\./g, '%2E') || '%00';
  return out;
}

/** `parts` joined under `root`; throws rather than return a path that is not strictly inside it. */
export function inside(root: string, ...parts: string[]): string {
  const path = resolve(root, ...parts);
  const rel = relative(resolve(root), path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new RangeError(`refusing a path outside ${root}: ${parts.join('/')}`);
  }
  return path;
}

/**
 * Makes sure `out` may be written: created when missing; an empty directory gets a marker; a
 * non-empty one must carry our marker, unless `force`. Returns the marker now in place.
 * @throws InvalidOptionError for a non-empty directory that is not one of our exports.
 */
export async function claimOut(out: string, force: boolean): Promise<Marker> {
  await mkdir(out, { recursive: true });
  const existing = await readMarker(out);
  if (existing) return existing;
  const entries = await readdir(out);
  if (entries.length > 0 && !force) {
    throw new InvalidOptionError(
      'out',
      out,
      `Expected \`out\` to be an empty directory or an earlier export (with ${MARKER}), got \`${out}\`, which holds other files: choose another directory, or pass \`force\` to write into it`,
    );
  }
  const marker: Marker = { tool: 'preload-market-data', version: 1, intervals: {} };
  await writeMarker(out, marker);
  return marker;
}

async function readMarker(out: string): Promise<Marker | undefined> {
  let text: string;
  try {
    text = await readFile(join(out, MARKER), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as Partial<Marker>;
    if (m.tool === 'preload-market-data' && typeof m.intervals === 'object' && m.intervals !== null) return { tool: m.tool, version: 1, intervals: m.intervals };
  } catch {
    // Not ours after all: treated as any other file.
  }
  return undefined;
}

/** Written to a temporary name and renamed: a reader never sees half a marker. */
export async function writeMarker(out: string, marker: Marker): Promise<void> {
  const tmp = join(out, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}.json`);
  await writeFile(tmp, `${JSON.stringify(marker, null, 2)}\n`);
  await rename(tmp, join(out, MARKER));
}

/**
 * A fresh staging directory inside `out`. Staging left by an export that was killed (no
 * cleanup ran) is removed first: two exports into one directory at once are not supported.
 */
export async function createStaging(out: string): Promise<string> {
  for (const entry of await readdir(out)) {
    if (entry.startsWith(STAGING_PREFIX)) await rm(join(out, entry), { recursive: true, force: true });
  }
  const dir = join(out, `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`);
  await mkdir(join(dir, 'new'), { recursive: true });
  await mkdir(join(dir, 'old'));
  return dir;
}

/**
 * Moves each staged unit (a directory relative to `staging/new`) into place under `out`,
 * replacing what was there. A unit is swapped by two renames; if the second fails the old one
 * is put back.
 */
export async function swapIntoPlace(out: string, staging: string, units: readonly string[]): Promise<void> {
  for (const [i, unit] of units.entries()) {
    const target = inside(out, unit);
    const staged = inside(join(staging, 'new'), unit);
    const old = join(staging, 'old', String(i));
    let moved = false;
    try {
      await rename(target, old);
      moved = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(staged, target);
    } catch (error) {
      if (moved) await rename(old, target);
      throw error;
    }
  }
}
