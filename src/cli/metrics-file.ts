// The --metrics-file: read the file an earlier command wrote, keep every series of another command
// or dataset, replace this command's, and put the result in place atomically (a temporary name in
// the same directory, fsync, rename), as node_exporter's textfile collector expects: it reads only
// `*.prom` files, never a half-written one.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** One sample line: `name{label="value",...} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A metric family as the file holds it: its HELP and TYPE once, then its samples. */
export interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

/**
 * Reads the text format as we write it (prom-client's output): `# HELP`, `# TYPE`, and sample
 * lines with optional labels and an optional timestamp (ignored). A line it cannot read is
 * skipped: the file is ours, and one bad line must not cost every other series.
 */
export function readMetricsText(text: string): Family[] {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, help: '', type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  let current: Family | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const meta = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
    if (meta) {
      current = family(meta[2] ?? '');
      if (meta[1] === 'HELP') current.help = unescapeHelp(meta[3] ?? '');
      else current.type = (meta[3] ?? 'untyped').trim();
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = readSample(line);
    if (sample === undefined) continue;
    // A histogram's `_bucket`/`_sum`/`_count` lines belong to the family declared above them.
    const owner = current !== undefined && sample.name.startsWith(current.name) ? current : family(sample.name);
    owner.samples.push(sample);
  }
  return [...families.values()];
}

function readSample(line: string): Sample | undefined {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head?.[1]) return undefined;
  const name = head[1];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/y;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') break;
      label.lastIndex = i;
      const m = label.exec(line);
      if (!m?.[1]) return undefined;
      labels[m[1]] = unescapeLabel(m[2] ?? '');
      i = label.lastIndex;
    }
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? '');
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(s: string): number | undefined {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const n = Number(s);
  return s === '' || Number.isNaN(n) ? undefined : n;
}

function unescapeLabel(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function unescapeHelp(s: string): string {
  return s.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** The text of a file that may not exist yet ('' then). */
export async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/**
 * Writes `text` to `path` through a temporary file in the same directory (so the rename stays on
 * one filesystem and is atomic), flushed to disk before the rename: a reader sees the old file or
 * the new one, whole. The temporary name does not end in `.prom`, so the collector never reads it.
 */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Read, merge, write, then read again: two commands that end at the same moment each read the
 * file before the other's rename, and the later rename would drop the earlier one's series. After
 * its rename a writer waits longer than its own read-to-rename took and looks: if its series are
 * gone (the other one renamed over it), it merges again. Each file written is whole either way.
 *
 * @param merge Makes the new text from the file's current one.
 * @param ours  True when a text still holds this command's series as written.
 */
export async function mergeIntoFile(path: string, merge: (current: string) => Promise<string>, ours: (text: string) => boolean): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const began = performance.now();
    const text = await merge(await readIfExists(path));
    await writeAtomically(path, text);
    const took = performance.now() - began;
    await sleep(Math.max(20, 2 * took) + Math.random() * 20);
    if (ours(await readIfExists(path))) return;
  }
}
