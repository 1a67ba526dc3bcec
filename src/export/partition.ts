// Which partition each exported row falls in: its directory under `out` and the SQL that selects
// its rows from the writer's table (columns `b.day`, days since 1970, and `b.sid`, the symbol's id).
import { dayNumber, sessionDay } from '../market-time.js';
import { encodePartitionValue } from './layout.js';
import type { ExportPartition } from './types.js';

/** One partition: where its file goes (relative to `out`) and which rows it holds. */
export interface Partition {
  dir: string;
  where: string;
}

/** Collects the partitions rows fall in, as they are appended. */
export class Partitions {
  readonly #mode: ExportPartition;
  readonly #intervalDir: string;
  readonly #found = new Map<string, Partition>();
  #lastDay = '';
  #lastNumber = 0;

  constructor(mode: ExportPartition, interval: string) {
    this.#mode = mode;
    this.#intervalDir = `interval=${encodePartitionValue(interval)}`;
  }

  /** The interval's own directory, which holds every partition of it. */
  get intervalDir(): string {
    return this.#intervalDir;
  }

  /**
   * The session day (days since 1970) of a bar, noting its year's partition. Called once per row:
   * the day is worked out again only when it changes.
   */
  readonly dayOf = (timeMs: number): number => {
    const day = sessionDay(timeMs);
    if (day !== this.#lastDay) {
      this.#lastDay = day;
      this.#lastNumber = dayNumber(day);
      if (this.#mode === 'year') this.#addYear(day.slice(0, 4));
    }
    return this.#lastNumber;
  };

  /** Notes that symbol `sid` (`ticker`) has rows. */
  addSymbol(sid: number, ticker: string): void {
    if (this.#mode === 'symbol') this.#add(`${this.#intervalDir}/symbol=${encodePartitionValue(ticker)}`, `b.sid = ${sid}`);
    else if (this.#mode === 'none') this.#add(this.#intervalDir, 'TRUE');
  }

  /** Notes rows of these years (YYYY) of session days, found without `dayOf` (a scan); returns their partitions. */
  addYears(years: Iterable<string>): Partition[] {
    if (this.#mode !== 'year') return [];
    return [...years].map((y) => this.#addYear(y));
  }

  /** Every partition found, sorted by directory. */
  list(): Partition[] {
    return [...this.#found.values()].sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  }

  #addYear(year: string): Partition {
    const dir = `${this.#intervalDir}/year=${year}`;
    return this.#found.get(dir) ?? this.#add(dir, `b.day BETWEEN ${dayNumber(`${year}-01-01`)} AND ${dayNumber(`${year}-12-31`)}`);
  }

  #add(dir: string, where: string): Partition {
    const found = this.#found.get(dir);
    if (found) return found;
    const part = { dir, where };
    this.#found.set(dir, part);
    return part;
  }
}
