// Split- and dividend-adjusted bars, computed when read: the provider's cumulative factors change
// with every new event, so stored prices stay raw and the adjustment is a step function of the day.
import type { Bar } from '../types.js';
import type { Adjust, CorporateActions, Dividend, Split } from '../corporate-actions.js';

/**
 * One step of the adjustment: bars whose session day is before `date` (and on or after the
 * previous step's date) have their prices multiplied by `price` and their volume by `volume`.
 * Bars on or after the last step's date are not adjusted.
 */
export interface Step {
  /** YYYY-MM-DD: the date of the events this step starts with (an execution or ex-dividend date). */
  date: string;
  /** Product of every later event's price factor (this date's included). */
  price: number;
  /** Product of every later split's `splitTo / splitFrom`: price x volume stays as traded. */
  volume: number;
}

/** The fields of a bar the adjustment reads (a Bar's); every other field is copied as is. */
export type AdjustableBar = Bar;

// Ratios read from JSON (1/3, 0.333333): two rows with the same ratio may differ in the last bits.
export const SAME_RATIO = 1e-9;
/** Tolerance for our cumulative split factor against the provider's, which it prints with ~6 digits. */
export const SPLIT_FACTOR_TOLERANCE = 1e-3;
/** Two splits of one ticker with the same ratio this close (calendar days) look like one split reported twice, a day off. */
const NEAR_DUPLICATE_DAYS = 5;

/**
 * One split per ticker, execution date and ratio (`splitFrom / splitTo`): the provider has served
 * the same split several times. Rows on one date with different ratios cannot all be right: the
 * ratio most rows agree on is kept (ties: the row with the lowest id), and a note says so.
 *
 * @returns the kept splits sorted by ticker, then date; `duplicates` counts the rows dropped.
 */
export function dedupeSplits(splits: readonly Split[]): { splits: Split[]; duplicates: number; notes: string[] } {
  const groups = new Map<string, Split[]>();
  for (const s of splits) {
    const key = `${s.ticker}\u0000${s.executionDate}`;
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  const kept: Split[] = [];
  const notes: string[] = [];
  let duplicates = 0;
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined) continue;
    if (group.length === 1) {
      kept.push(first);
      continue;
    }
    // Same ratio: one split. Count the rows of each distinct ratio.
    const byRatio: Array<{ ratio: number; rows: Split[] }> = [];
    for (const s of [...group].sort((a, b) => compare(a.id, b.id))) {
      const r = s.splitFrom / s.splitTo;
      const same = byRatio.find((g) => Math.abs(g.ratio - r) <= SAME_RATIO * Math.max(g.ratio, r));
      if (same) same.rows.push(s);
      else byRatio.push({ ratio: r, rows: [s] });
    }
    // Stable sort: with equal counts the ratio of the lowest id (first pushed) stays first.
    byRatio.sort((a, b) => b.rows.length - a.rows.length);
    const winner = byRatio[0]?.rows[0] ?? first;
    kept.push(winner);
    duplicates += group.length - 1;
    const sameRows = byRatio[0]?.rows.length ?? 1;
    if (sameRows > 1) notes.push(`${first.ticker} ${first.executionDate}: ${sameRows} rows for one ${ratioText(winner)}${winner.adjustmentType === 'stock_dividend' ? '' : ' split'}, kept one`);
    if (byRatio.length > 1) {
      const others = byRatio.slice(1).map((g) => ratioText(g.rows[0] ?? winner)).join(', ');
      notes.push(`${first.ticker} ${first.executionDate}: split rows with different ratios (${ratioText(winner)}, ${others}); applied ${ratioText(winner)} (id ${winner.id || '(none)'}) only`);
    }
  }
  kept.sort((a, b) => compare(a.ticker, b.ticker) || compare(a.executionDate, b.executionDate));
  // A day off is a known fault of the provider's data, but also possible for real: say it, apply both.
  for (let i = 1; i < kept.length; i++) {
    const a = kept[i - 1];
    const b = kept[i];
    if (a === undefined || b === undefined || a.ticker !== b.ticker) continue;
    const apart = (Date.parse(b.executionDate) - Date.parse(a.executionDate)) / 86_400_000;
    if (apart <= NEAR_DUPLICATE_DAYS && Math.abs(a.splitFrom / a.splitTo - b.splitFrom / b.splitTo) <= SAME_RATIO * (a.splitFrom / a.splitTo)) {
      notes.push(`${a.ticker}: ${ratioText(a)} splits on ${a.executionDate} and ${b.executionDate}, one split reported twice? Both applied`);
    }
  }
  return { splits: kept, duplicates, notes };
}

/**
 * The adjustment of one ticker as a step function of the session day, for `mode`:
 * - `splits`: a bar before a split's execution date has its prices multiplied by
 *   `splitFrom / splitTo` and its volume divided by it, for every later split. Every row of the
 *   splits endpoint counts, whatever its `adjustmentType`: a stock dividend is a split by its
 *   ratio (a 5% one, `splitFrom: 1, splitTo: 1.05`, multiplies earlier prices by 1/1.05 and their
 *   volume by 1.05), as the provider's own cumulative factor counts it;
 * - `total`: the same, and prices multiplied by `1 - cash / close` for every later ex-dividend
 *   date, `close` being the raw close of the last session before the ex-date (`closeBefore`); the
 *   cash of several dividends on one ex-date is summed. Volume is not changed by dividends;
 * - `none`: no steps.
 *
 * `cashAmount` is used, not `splitAdjustedCashAmount`: both it and the raw close are in the shares
 * of that day. A dividend without a close before it (none stored) or with cash >= close is skipped,
 * with a note. Duplicate splits are dropped first ({@link dedupeSplits}), with notes.
 *
 * @param closeBefore the raw close of the last session before a YYYY-MM-DD day, if known.
 * @returns steps sorted by date, for {@link factorFor} and {@link applyAdjustment}.
 */
export function adjustmentSteps(
  actions: CorporateActions,
  mode: Adjust,
  closeBefore: (exDate: string) => number | undefined,
): { steps: Step[]; notes: string[] } {
  if (mode === 'none') return { steps: [], notes: [] };
  const events = new Map<string, { price: number; volume: number }>();
  const at = (date: string): { price: number; volume: number } => {
    let e = events.get(date);
    if (e === undefined) {
      e = { price: 1, volume: 1 };
      events.set(date, e);
    }
    return e;
  };
  const deduped = dedupeSplits(actions.splits);
  const notes = [...deduped.notes];
  for (const s of deduped.splits) {
    const e = at(s.executionDate);
    e.price *= s.splitFrom / s.splitTo;
    e.volume *= s.splitTo / s.splitFrom;
  }
  if (mode === 'total') {
    for (const [date, group] of dividendsByDate(actions.dividends, notes)) {
      const cash = group.reduce((sum, d) => sum + d.cashAmount, 0);
      if (cash === 0) continue;
      const ticker = group[0]?.ticker ?? '';
      const close = closeBefore(date);
      if (close === undefined) {
        notes.push(`${ticker} dividend of ${round(cash)} ex ${date}: no session before it in the store, not applied`);
        continue;
      }
      if (!(cash < close)) {
        notes.push(`${ticker} dividend of ${round(cash)} ex ${date}: not below the close before it (${close}), not applied`);
        continue;
      }
      at(date).price *= 1 - cash / close;
    }
  }
  // Cumulate from the latest event back: a step holds the product of its event and every later one.
  const dates = [...events.keys()].sort();
  const steps: Step[] = new Array<Step>(dates.length);
  let price = 1;
  let volume = 1;
  for (let i = dates.length - 1; i >= 0; i--) {
    const date = dates[i] as string;
    const e = events.get(date) as { price: number; volume: number };
    price *= e.price;
    volume *= e.volume;
    steps[i] = { date, price, volume };
  }
  return { steps, notes };
}

/** Dividends grouped by ex-date, a row repeated under one id counted once (a page boundary may repeat it). */
function dividendsByDate(dividends: readonly Dividend[], notes: string[]): Map<string, Dividend[]> {
  const byDate = new Map<string, Dividend[]>();
  const ids = new Set<string>();
  let repeated = 0;
  for (const d of dividends) {
    if (d.id !== '') {
      if (ids.has(d.id)) {
        repeated++;
        continue;
      }
      ids.add(d.id);
    }
    const group = byDate.get(d.exDividendDate);
    if (group) group.push(d);
    else byDate.set(d.exDividendDate, [d]);
  }
  if (repeated > 0) notes.push(`${dividends[0]?.ticker ?? ''}: ${repeated} dividend row${repeated === 1 ? '' : 's'} repeated under one id, counted once`);
  return byDate;
}

const NO_ADJUSTMENT: Readonly<{ price: number; volume: number }> = Object.freeze({ price: 1, volume: 1 });

/**
 * The factors for a bar whose session day is `day` (YYYY-MM-DD): those of the first step dated
 * after it, or 1 when none is. O(log steps).
 */
export function factorFor(steps: readonly Step[], day: string): { price: number; volume: number } {
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((steps[mid] as Step).date <= day) lo = mid + 1;
    else hi = mid;
  }
  const step = steps[lo];
  return step === undefined ? NO_ADJUSTMENT : step;
}

/**
 * New bars with prices and volume multiplied by the factors of their session day; `transactions`
 * and every other field copied as is. `bars` is not modified.
 *
 * @param dayOf the session day of a bar's `time`, usually `sessionDay` (market-time.ts); never earlier for a later time.
 */
export function applyAdjustment<B extends AdjustableBar>(bars: readonly B[], steps: readonly Step[], dayOf: (time: number) => string): B[] {
  const out = new Array<B>(bars.length);
  const last = steps[steps.length - 1];
  // Bars come in time order: the day, then its factors, usually repeat from one bar to the next,
  // and once a bar is past the last event so is every later one (dayOf never goes back in time).
  let prevDay = '';
  let prevTime = Number.NEGATIVE_INFINITY;
  let pastLast = last === undefined;
  let f = NO_ADJUSTMENT;
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i] as B;
    if (!(pastLast && b.time >= prevTime)) {
      const day = dayOf(b.time);
      if (day !== prevDay) {
        pastLast = last === undefined || day >= last.date;
        f = pastLast ? NO_ADJUSTMENT : factorFor(steps, day);
        prevDay = day;
      }
    }
    prevTime = b.time;
    out[i] =
      f === NO_ADJUSTMENT
        ? { ...b }
        : { ...b, open: b.open * f.price, high: b.high * f.price, low: b.low * f.price, close: b.close * f.price, volume: b.volume * f.volume };
  }
  return out;
}

/** A split whose provider's cumulative factor disagrees with ours (see {@link historicalFactorMismatches}). */
export interface FactorMismatch {
  split: Split;
  /** The provider's `historical_adjustment_factor`. */
  theirs: number;
  /** The product of this split's and every later split's `splitFrom / splitTo`, as read. */
  ours: number;
}

/**
 * Splits whose provider's `historical_adjustment_factor` disagrees with our cumulative split factor
 * by more than {@link SPLIT_FACTOR_TOLERANCE} (relative): a split missing, extra or wrong after that
 * date. Duplicate rows are dropped first ({@link dedupeSplits}).
 *
 * Splits only: a dividend's factor depends on the close the provider divided by (its own, possibly
 * adjusted, close of some day near the ex-date), which the store may not hold and which need not match
 * ours, so a mismatch there would say little; the split factors are pure ratios and must agree.
 */
export function historicalFactorMismatches(actions: CorporateActions): FactorMismatch[] {
  const { splits } = dedupeSplits(actions.splits);
  const out: FactorMismatch[] = [];
  const byTicker = new Map<string, Split[]>();
  for (const s of splits) {
    const list = byTicker.get(s.ticker);
    if (list) list.push(s);
    else byTicker.set(s.ticker, [s]);
  }
  for (const list of byTicker.values()) {
    // Sorted by date by dedupeSplits; several ratios on one date were reduced to one there.
    let factor = 1;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i] as Split;
      factor *= s.splitFrom / s.splitTo;
      const theirs = s.historicalAdjustmentFactor;
      if (theirs === null || !Number.isFinite(theirs) || theirs <= 0) continue;
      if (Math.abs(theirs - factor) > SPLIT_FACTOR_TOLERANCE * Math.max(theirs, factor)) out.push({ split: s, theirs, ours: round(factor) });
    }
  }
  return out;
}

/** {@link historicalFactorMismatches} as the `actions` command's notes. */
export function checkHistoricalFactors(actions: CorporateActions): string[] {
  return historicalFactorMismatches(actions).map(
    ({ split: s, theirs, ours }) =>
      `${s.ticker} ${s.executionDate}: the provider's historical_adjustment_factor is ${theirs}, the splits read give ${ours}: a split after this date missing or wrong?`,
  );
}

/** True when a split row's `adjustmentType` contradicts its ratio (see {@link checkAdjustmentTypes}). */
export function contradictsAdjustmentType(s: Split): boolean {
  const more = s.splitTo > s.splitFrom;
  const fewer = s.splitTo < s.splitFrom;
  const grows = s.adjustmentType === 'forward_split' || s.adjustmentType === 'stock_dividend';
  return (grows && !more) || (s.adjustmentType === 'reverse_split' && !fewer);
}

/**
 * Notes on split rows whose `adjustmentType` contradicts their ratio: a forward split or stock
 * dividend with fewer new shares than old, a reverse split with more. The ratio is applied as given
 * (it is what the provider's cumulative factor uses); the note says which of the two may be wrong.
 */
export function checkAdjustmentTypes(splits: readonly Split[]): string[] {
  const notes: string[] = [];
  for (const s of splits) {
    if (contradictsAdjustmentType(s)) {
      notes.push(`${s.ticker} ${s.executionDate}: a ${s.adjustmentType} row with split_from ${s.splitFrom} and split_to ${s.splitTo}; its ratio is applied as given`);
    }
  }
  return notes;
}

/** `3-for-1`, or for a stock dividend its rate: `5% stock dividend (1.05-for-1)`. */
function ratioText(s: Split): string {
  const ratio = `${round(s.splitTo)}-for-${round(s.splitFrom)}`;
  if (s.adjustmentType !== 'stock_dividend') return ratio;
  return `${round((s.splitTo / s.splitFrom - 1) * 100)}% stock dividend (${ratio})`;
}

const round = (x: number): number => Number(x.toPrecision(6));
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
