// Rows of one ticker and time inside one file: the provider's users have found such repeats, some
// with different values. A file keeps one row per (ticker, time), the LAST one in the file (as the
// stores' upserts always did); the rows dropped whose values differ from the kept one are counted
// and the first few kept as evidence (a `duplicate` note for `check`). Rows identical in every
// value are harmless and only counted. A key's repeats are settled once its last row is known.
import type { BarConflict, BarValues } from '../types.js';

/** Conflicts a file's note keeps as examples (the first ones of the file); `rows` counts them all. */
export const MAX_EXAMPLES = 10;

/** What a file's repeated rows came to: crosses the thread boundary as is. */
export interface DuplicateConflicts {
  /** Rows dropped whose values differ from the row kept (the last of their key in the file). */
  rows: number;
  /** The first few: `before` the row kept, `after` a row dropped. */
  examples: BarConflict[];
}

/** Every value equal (transactions: null and NaN both mean none). */
export function sameValues(a: BarValues, b: BarValues): boolean {
  return (
    a.open === b.open &&
    a.high === b.high &&
    a.low === b.low &&
    a.close === b.close &&
    a.volume === b.volume &&
    sameCount(a.transactions, b.transactions)
  );
}

function sameCount(a: number | null, b: number | null): boolean {
  const x = a === null || Number.isNaN(a) ? null : a;
  const y = b === null || Number.isNaN(b) ? null : b;
  return x === y;
}

/** A bar's values alone (a parsed row carries its ticker and time too). */
export function valuesOf(b: BarValues): BarValues {
  return { open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume, transactions: b.transactions === null || Number.isNaN(b.transactions) ? null : b.transactions };
}

/** Counts a file's repeated rows as their keys are settled. */
export class DuplicateLog {
  /** Rows dropped with values different from the kept row. */
  rows = 0;
  /** Rows dropped identical to the kept row. */
  identical = 0;
  readonly examples: BarConflict[] = [];

  /** One key's repeats, once its kept row (the last) is known: `dropped` are the earlier rows, in file order. */
  settle(ticker: string, time: number, kept: BarValues, dropped: readonly BarValues[]): void {
    for (const d of dropped) {
      if (sameValues(kept, d)) {
        this.identical += 1;
        continue;
      }
      this.rows += 1;
      if (this.examples.length < MAX_EXAMPLES) this.examples.push({ ticker, time, before: valuesOf(kept), after: valuesOf(d) });
    }
  }

  /** Forgets what was counted (the body starts over). */
  reset(): void {
    this.rows = 0;
    this.identical = 0;
    this.examples.length = 0;
  }

  /** The conflicts, or undefined when no dropped row differed from its kept one. */
  conflicts(): DuplicateConflicts | undefined {
    return this.rows === 0 ? undefined : { rows: this.rows, examples: [...this.examples] };
  }
}
