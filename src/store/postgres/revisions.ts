// A republished file's `revised` note (sql/revisions.ts does the work): the scope of a file's
// comparison, and the note from its counts.
import { tickerPrefix } from '../scope.js';
import type { FileNote } from '../types.js';
import type { MarketFile } from './rows.js';
import { compareDay, type RevisionScope } from './sql/revisions.js';
import type { Queryable } from './db.js';

/** The scope a file replaces: its job's tickers, or for an --all job every ticker of its dataset. */
export function revisionScope(file: number, m: MarketFile): RevisionScope {
  const all = m.job.all === true;
  return { file, interval: m.job.interval, day: m.file.day, tickers: all ? null : m.job.tickers, prefix: all ? (tickerPrefix(m.job.dataset) ?? null) : null };
}

/** The day's bars against those kept before the merge: a `revised` note, or undefined when nothing changed. */
export async function revisedNote(c: Queryable, s: RevisionScope): Promise<FileNote | undefined> {
  const { changed, added, removed, examples } = await compareDay(c, s);
  if (changed === 0 && added === 0 && removed === 0) return undefined;
  return { kind: 'revised', detail: { rows: changed, added, removed, examples } };
}
