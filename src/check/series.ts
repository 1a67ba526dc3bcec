// The checks along one ticker's bars, fed in time order a bar at a time (from the store's
// day-major scan or from a read per ticker): small state per ticker (the last bar, a pointer into
// its stored splits, the days it missed), so a whole-market scan keeps ~11,000 of these and
// nothing else. Every threshold is a named constant, documented in docs/data-quality.md.
import { dedupeSplits } from '../read/adjust.js';
import type { Split } from '../corporate-actions.js';
import type { BarValues } from '../store/types.js';
import { FINDING_KINDS, type Finding, type FindingKind } from './types.js';

/** The split ratios a close-to-close move is compared with (n-for-1 and 1-for-n). */
export const SPLIT_RATIOS: readonly number[] = [2, 3, 4, 5, 10, 20];
/** How close (relative) a move must be to a split ratio to look like one: 3%. */
export const SPLIT_MOVE_TOLERANCE = 0.03;
/**
 * Stored splits whose ratio is closer to 1 than this (stock dividends of a few percent) are not
 * looked for in the prices: an ordinary day moves as much.
 */
export const SPLIT_SEEN_MIN_RATIO = 1.5;
/** A ticker absent for at least this many trading days of the calendar... */
export const REUSE_ABSENT_DAYS = 60;
/** ...that comes back at a close more than this many times (or under 1/this of) its last one: "ticker reused?". */
export const REUSE_PRICE_FACTOR = 2;

/** Examples kept in a finding that gathers many bars (impossible bars, times under two files). */
export const EXAMPLES = 5;

/** Where findings go as they are made. */
export type FindingSink = (f: Finding) => void;

/** A finding with its severity from its kind. */
export function finding(kind: FindingKind, ticker: string, dates: string[], message: string, evidence: Record<string, unknown>): Finding {
  return { kind, severity: FINDING_KINDS[kind], ticker, dates, message, evidence };
}

/** The checks along one ticker. `daily`: day bars (every check); otherwise minutes (bar checks only). */
export class TickerSeries {
  readonly ticker: string;
  readonly #daily: boolean;
  readonly #emit: FindingSink;
  /** Stored splits, one per date and ratio, by execution date. */
  readonly #splits: Split[];
  #nextSplit = 0;
  #lastTime = Number.NEGATIVE_INFINITY;
  #lastFile = '';
  #lastDay = '';
  #lastDayIndex = -1;
  /** The last bar's values, as fields: a scan passes millions of rows, an object each would be garbage. */
  #open = Number.NaN;
  #high = Number.NaN;
  #low = Number.NaN;
  #close = Number.NaN;
  #volume = Number.NaN;
  #transactions: number | null = null;
  #missing: number[] = [];
  /** Bars that cannot be, and times stored under two files: one finding a ticker each, all their days, the first examples. */
  #impossibles = new Grouped();
  #overlaps = new Grouped();
  #zero: string[] = [];
  #zeroFirst: BarValues | undefined;
  bars = 0;

  constructor(ticker: string, daily: boolean, splits: readonly Split[], emit: FindingSink) {
    this.ticker = ticker;
    this.#daily = daily;
    this.#emit = emit;
    this.#splits = dedupeSplits(splits).splits;
  }

  /**
   * One bar, after every earlier one of this ticker. `file`: the day file it is stored under;
   * `day`: its session day; `dayIndex`: that day's place in the calendar (day bars only).
   */
  add(time: number, open: number, high: number, low: number, close: number, volume: number, transactions: number | null, file: string, day: string, dayIndex: number): void {
    this.bars++;
    if (time <= this.#lastTime) {
      // Stored under two day files: a read returns one of them.
      if (time === this.#lastTime && file !== this.#lastFile && !(open === this.#open && high === this.#high && low === this.#low && close === this.#close && volume === this.#volume && transactions === this.#transactions)) {
        const files = { [this.#lastFile]: this.#values(), [file]: { open, high, low, close, volume, transactions } };
        this.#overlaps.note([this.#lastFile, file], () => [{ time: iso(time), files }, `${iso(time)} in ${Object.keys(files).join(' and ')}`]);
      }
      return;
    }
    if (!(high >= open && high >= close && high >= low && low <= open && low <= close && open > 0 && low > 0 && volume >= 0)) {
      this.#impossible(time, { open, high, low, close, volume, transactions }, day);
    }
    if (volume === 0) {
      if (this.#zero.length === 0) this.#zeroFirst = { open, high, low, close, volume, transactions };
      if (this.#zero.at(-1) !== day) this.#zero.push(day);
    }
    if (this.#daily) this.#move(close, day, dayIndex);
    this.#lastTime = time;
    this.#lastFile = file;
    this.#open = open;
    this.#high = high;
    this.#low = low;
    this.#close = close;
    this.#volume = volume;
    this.#transactions = transactions;
  }

  #values(): BarValues {
    return { open: this.#open, high: this.#high, low: this.#low, close: this.#close, volume: this.#volume, transactions: this.#transactions };
  }

  #impossible(time: number, v: BarValues, day: string): void {
    // Only the first few are described: a store can hold millions of them.
    this.#impossibles.note([day], () => {
      const why = reasons(v);
      return [{ time: iso(time), bar: v, why }, `${day}: ${why.join(', ')}`];
    });
  }

  /** The day checks: days missed, a move a split explains or one a stored split should have made, a ticker back from a long absence. */
  #move(close: number, day: string, dayIndex: number): void {
    const lastClose = this.#close;
    const lastDay = this.#lastDay;
    const first = this.#lastDayIndex < 0;
    const gap = first ? 0 : dayIndex - this.#lastDayIndex - 1;
    for (let i = 1; i <= gap; i++) this.#missing.push(this.#lastDayIndex + i);
    // Stored splits executed after the last bar's day, up to this one: the move they should show.
    let splits: Split[] | undefined;
    while (this.#nextSplit < this.#splits.length) {
      const s = this.#splits[this.#nextSplit] as Split;
      if (s.executionDate > day) break;
      // Before the first bar, or on it: no move to see it in.
      if (!first && s.executionDate > lastDay) (splits ??= []).push(s);
      this.#nextSplit++;
    }
    this.#lastDay = day;
    this.#lastDayIndex = dayIndex;
    if (first || !(lastClose > 0 && close > 0)) return;
    const move = close / lastClose;
    // Most days: no split stored, no long absence, no move near a split ratio. Nothing allocated.
    if (splits === undefined && gap < REUSE_ABSENT_DAYS && splitRatioOf(move) === undefined) return;
    const moveEvidence = { lastDay, lastClose, day, close, move: round(move) };
    if (gap >= REUSE_ABSENT_DAYS && (move > REUSE_PRICE_FACTOR || move < 1 / REUSE_PRICE_FACTOR)) {
      this.#emit(
        finding('ticker-reused', this.ticker, [lastDay, day], `${this.ticker} is absent for ${gap} trading days after ${lastDay} and comes back at ${round(move)}x its last close: ticker reused?`, {
          ...moveEvidence,
          absentDays: gap,
        }),
      );
      return;
    }
    let expected = 1;
    for (const s of splits ?? []) expected *= s.splitFrom / s.splitTo;
    let explained = move;
    if (splits !== undefined) {
      const checkable = Math.abs(Math.log(expected)) >= Math.log(SPLIT_SEEN_MIN_RATIO);
      // Seen when the move adjusted by the splits is smaller than the raw move.
      if (checkable && !(Math.abs(Math.log(move / expected)) < Math.abs(Math.log(move)))) {
        const dates = [...new Set(splits.map((s) => s.executionDate))];
        this.#emit(
          finding('split-not-seen', this.ticker, dates, `${this.ticker}: the stored split of ${dates.join(', ')} (x${round(expected)} on prices) is not seen in the prices (x${round(move)} from ${lastDay} to ${day})`, {
            ...moveEvidence,
            expected: round(expected),
            splits: splits.map(splitEvidence),
          }),
        );
      } else {
        explained = move / expected;
      }
    }
    const ratio = splitRatioOf(explained);
    if (ratio === undefined) return;
    const text = ratio < 1 ? `${round(1 / ratio)}-for-1 split` : `1-for-${round(ratio)} reverse split`;
    this.#emit(
      finding('split-missing', this.ticker, [lastDay, day], `${this.ticker} ${lastDay} -> ${day}: close x${round(explained)}, as a ${text} would make: split missing from the corporate actions?`, {
        ...moveEvidence,
        ratio: round(ratio),
        ...(splits !== undefined ? { storedSplits: splits.map(splitEvidence), afterStoredSplits: round(explained) } : {}),
      }),
    );
  }

  /** The findings held until the ticker's last bar: one a kind, with every day it concerns. */
  finish(calendar: readonly string[]): void {
    const t = this.ticker;
    const impossible = this.#impossibles;
    if (impossible.count > 0) {
      this.#emit(finding('impossible-bar', t, impossible.dates(), `${t}: ${impossible.count} bar${plural(impossible.count)} that cannot be (${impossible.first})`, impossible.evidence()));
    }
    const overlaps = this.#overlaps;
    if (overlaps.count > 0) {
      this.#emit(finding('duplicate-across-files', t, overlaps.dates(), `${t}: ${overlaps.count} time${plural(overlaps.count)} stored under two day files with different values, a read returns one (${overlaps.first})`, overlaps.evidence()));
    }
    if (this.#missing.length > 0) {
      const dates = this.#missing.map((i) => calendar[i] ?? '');
      this.#emit(
        finding('missing-days', this.ticker, dates, `${this.ticker} has no bar on ${dates.length} day${dates.length === 1 ? '' : 's'} of the calendar between its first and last bar`, {
          days: dates.length,
        }),
      );
    }
    if (this.#zero.length > 0) {
      this.#emit(
        finding('zero-volume', this.ticker, this.#zero, `${this.ticker} has bars with volume 0 on ${this.#zero.length} day${this.#zero.length === 1 ? '' : 's'}`, {
          days: this.#zero.length,
          first: this.#zeroFirst,
        }),
      );
    }
  }
}

/** Findings of one kind on one ticker gathered into one: every day, a count, the first examples. */
class Grouped {
  count = 0;
  readonly examples: Array<Record<string, unknown>> = [];
  readonly #dates = new Set<string>();

  /** What the first one was, in words. */
  first = '';

  /** One more; `describe` (the example and its words) is called for the first EXAMPLES only. */
  note(dates: readonly string[], describe: () => [Record<string, unknown>, string]): void {
    for (const d of dates) this.#dates.add(d);
    if (this.count++ >= EXAMPLES) return;
    const [example, words] = describe();
    if (this.count === 1) this.first = words;
    this.examples.push(example);
  }

  dates(): string[] {
    return [...this.#dates].sort();
  }

  evidence(): Record<string, unknown> {
    return { bars: this.count, examples: this.examples };
  }
}

/** Why a bar cannot be, in words. */
function reasons(v: BarValues): string[] {
  const why: string[] = [];
  if (v.high < v.open || v.high < v.close || v.high < v.low) why.push('high below open, close or low');
  if (v.low > v.open || v.low > v.close) why.push('low above open or close');
  if (!(v.open > 0 && v.high > 0 && v.low > 0 && v.close > 0)) why.push('a price <= 0');
  if (v.volume < 0) why.push('negative volume');
  // NaN compares false everywhere: a bar of NaN is no bar.
  if (why.length === 0) why.push('a value that is not a number');
  return why;
}

const plural = (n: number): string => (n === 1 ? '' : 's');

/** The split ratio (a price factor: 0.25 for a 4-for-1 split) a move matches, if any. */
export function splitRatioOf(move: number): number | undefined {
  // Most moves are nowhere near a split: between the 2-for-1 band and the 1-for-2 band.
  if (move > 0.5 * (1 + SPLIT_MOVE_TOLERANCE) && move < 2 * (1 - SPLIT_MOVE_TOLERANCE)) return undefined;
  for (const n of SPLIT_RATIOS) {
    for (const ratio of [1 / n, n]) if (Math.abs(move / ratio - 1) <= SPLIT_MOVE_TOLERANCE) return ratio;
  }
  return undefined;
}

export function splitEvidence(s: Split): Record<string, unknown> {
  return {
    executionDate: s.executionDate,
    splitFrom: s.splitFrom,
    splitTo: s.splitTo,
    adjustmentType: s.adjustmentType,
    historicalAdjustmentFactor: s.historicalAdjustmentFactor,
    id: s.id,
  };
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const round = (x: number): number => Number(x.toPrecision(6));
