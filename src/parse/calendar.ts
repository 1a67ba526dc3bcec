// The file is the calendar: a day-aggregate file's bars belong to the file's day, whatever their
// window_start says (the provider's 2019-08-12 stocks file stamps every row with 2019-08-13). Such
// rows are re-stamped to the file's day and counted per date they claimed; minute rows outside
// the file's day are kept as they are and counted. One integer compare a row on the fast path.
import { formatDay, newYorkOffset, sessionDay } from '../market-time.js';

const DAY_MS = 86_400_000;

/** What kind of file the rows come from, from its key: only aggregates have a calendar to keep. */
export type FileKind = 'day' | 'minute' | undefined;

/** The kind of aggregate file `key` is (`.../day_aggs_v1/...` or `.../minute_aggs_v1/...`). */
export function fileKind(key: string): FileKind {
  if (key.includes('/day_aggs')) return 'day';
  if (key.includes('/minute_aggs')) return 'minute';
  return undefined;
}

/** Rows of a day file whose window_start claimed another day (they were stored under the file's). */
export interface ClaimedDate {
  claimedDate: string;
  rows: number;
}

/** What a file's rows said of their day, beside its rows: crosses the thread boundary as is. */
export interface CalendarCounts {
  /** Day files: rows re-stamped to the file's day, per date they claimed. */
  misdated?: ClaimedDate[] | undefined;
  /** Minute files: rows outside the file's day (New York or UTC), kept with their own time. */
  outsideSession?: number | undefined;
}

/** Midnight New York of `day` in ms (the provider's and the generator's stamp of a day bar). */
export function newYorkMidnight(day: string): number {
  const utc = Date.parse(`${day}T00:00:00Z`);
  // The offset at midnight UTC is the previous evening's in New York, the same as at its midnight
  // (the DST switch happens at 02:00 New York).
  return utc - newYorkOffset(utc);
}

/** Applies a file's calendar to each row's time (`stamp`), counting what it had to say. */
export class FileCalendar {
  readonly #kind: FileKind;
  /** Day files: the two stamps a day bar of this day may carry (crypto's is midnight UTC). */
  readonly #ny: number;
  readonly #utc: number;
  /** Minute files: the bars of the day lie in [from, to): its UTC day and its New York day. */
  readonly #to: number;
  /** Day files: rows re-stamped, by the time they claimed. */
  readonly #claimed = new Map<number, number>();
  outside = 0;

  constructor(day: string | undefined, kind: FileKind) {
    this.#kind = day === undefined ? undefined : kind;
    this.#utc = day === undefined ? 0 : Date.parse(`${day}T00:00:00Z`);
    this.#ny = day === undefined ? 0 : newYorkMidnight(day);
    this.#to = day === undefined ? 0 : newYorkMidnight(formatDay(this.#utc + DAY_MS));
  }

  /** The time to store a row under: its own, or for a misdated day bar the file day's stamp. */
  stamp(time: number): number {
    if (this.#kind === 'day') {
      if (time === this.#ny || time === this.#utc) return time;
      this.#claimed.set(time, (this.#claimed.get(time) ?? 0) + 1);
      return time % DAY_MS === 0 ? this.#utc : this.#ny;
    }
    if (this.#kind === 'minute' && (time < this.#utc || time >= this.#to)) this.outside += 1;
    return time;
  }

  /** Forgets what was counted (the body starts over). */
  reset(): void {
    this.#claimed.clear();
    this.outside = 0;
  }

  /** The counts, only those that are not zero. */
  counts(): CalendarCounts {
    const byDate = new Map<string, number>();
    for (const [time, rows] of this.#claimed) {
      // A bar at midnight UTC claims that UTC day; any other stamp the New York day it falls on.
      const date = time % DAY_MS === 0 ? formatDay(time) : sessionDay(time);
      byDate.set(date, (byDate.get(date) ?? 0) + rows);
    }
    const misdated = [...byDate].sort(([a], [b]) => (a < b ? -1 : 1)).map(([claimedDate, rows]) => ({ claimedDate, rows }));
    return {
      ...(misdated.length > 0 ? { misdated } : {}),
      ...(this.outside > 0 ? { outsideSession: this.outside } : {}),
    };
  }
}
