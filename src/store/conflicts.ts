// The rows both stores' comparisons of a republished day return (sqlite/revisions.ts,
// postgres/sql/revisions.ts), and how one becomes a BarConflict.
import type { BarConflict } from '../types.js';
import type { FileNote } from './types.js';

/** The values compared, in the order the comparisons select them (`open0` stored, `open1` new). */
export const BAR_VALUES = ['open', 'high', 'low', 'close', 'volume', 'transactions'] as const;

/** `p.open AS open0, b.open AS open1, ...`: the stored bar `p` beside the new one `b`. */
export const BOTH_SIDES = BAR_VALUES.map((v) => `p.${v} AS ${v}0, b.${v} AS ${v}1`).join(', ');

/** One changed bar as a comparison selects it. */
export type ConflictRow = { symbol: string; time: number } & Record<`${(typeof BAR_VALUES)[number]}${0 | 1}`, number | null>;

/** A file's notes with its `revised` note, if any. */
export function withRevision(notes: readonly FileNote[] | undefined, revised: FileNote | undefined): readonly FileNote[] | undefined {
  return revised === undefined ? notes : [...(notes ?? []), revised];
}

export function toConflict(r: ConflictRow): BarConflict {
  const side = (k: 0 | 1) => ({
    open: r[`open${k}`] as number,
    high: r[`high${k}`] as number,
    low: r[`low${k}`] as number,
    close: r[`close${k}`] as number,
    volume: r[`volume${k}`] as number,
    transactions: r[`transactions${k}`],
  });
  return { ticker: r.symbol, time: r.time, before: side(0), after: side(1) };
}
