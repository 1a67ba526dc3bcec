// Synthetic whole-market files for bench/stores/sqlite-bulk.ts, in the columns a worker thread hands the
// store (RowColumns): ~11,000 sorted stock tickers a day file (2% halted on any day, as in the
// generator of test/fixtures), weekdays from 2021-11-22, one day bar per ticker at 05:00Z, or a
// session of minute bars per ticker for minute files. Deterministic (seeded).
import type { RowColumns } from '../../src/types.js';
import { rng } from '../../test/fixtures/random.js';

/** The ticker every read row reads: always present, the bench generator's TSLA. */
export const READ_TICKER = 'TSLA';
const HALT_PROBABILITY = 0.02;
const DAY_MS = 86_400_000;

/** Re-exported for the store benches that draw from it. */
export { rng };

/** `n` distinct tickers of 1-5 capitals, READ_TICKER among them, sorted. */
export function tickers(n: number, seed = 7): string[] {
  const random = rng(seed);
  const names = new Set<string>([READ_TICKER]);
  while (names.size < n) {
    const length = 1 + Math.floor(random() * 5);
    let t = '';
    for (let i = 0; i < length; i++) t += String.fromCharCode(65 + Math.floor(random() * 26));
    names.add(t);
  }
  return [...names].sort();
}

/** The first `n` weekdays from 2021-11-22 (YYYY-MM-DD). */
export function weekdays(n: number): string[] {
  const out: string[] = [];
  for (let ms = Date.parse('2021-11-22T00:00:00Z'); out.length < n; ms += DAY_MS) {
    const d = new Date(ms);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

function emptyColumns(capacity: number): RowColumns {
  return {
    length: 0,
    ticker: [],
    time: new Float64Array(capacity),
    open: new Float64Array(capacity),
    high: new Float64Array(capacity),
    low: new Float64Array(capacity),
    close: new Float64Array(capacity),
    volume: new Float64Array(capacity),
    transactions: new Float64Array(capacity),
  };
}

function push(c: RowColumns, ticker: string, time: number, price: number, random: () => number): void {
  const i = c.length++;
  c.ticker.push(ticker);
  c.time[i] = time;
  c.open[i] = price;
  c.high[i] = price * (1 + random() * 0.02);
  c.low[i] = price * (1 - random() * 0.02);
  c.close[i] = price * (1 + (random() - 0.5) * 0.02);
  c.volume[i] = Math.floor(random() * 5_000_000);
  c.transactions[i] = Math.floor(random() * 40_000);
}

/** A stock day file of `names` on `day`: one bar per ticker not halted that day. */
export function dayFile(names: readonly string[], day: string, fileIndex: number): RowColumns {
  const random = rng(fileIndex * 7919 + 1);
  const time = Date.parse(`${day}T05:00:00Z`);
  const c = emptyColumns(names.length);
  for (let i = 0; i < names.length; i++) {
    const ticker = names[i] as string;
    if (ticker !== READ_TICKER && random() < HALT_PROBABILITY) continue;
    push(c, ticker, time, 10 + ((i * 37) % 500) * (1 + fileIndex / 5000), random);
  }
  return c;
}

/** A minute file of `names` on `day`: 300-960 bars per ticker from 09:00Z (960 for READ_TICKER), sorted by ticker and time. */
export function minuteFile(names: readonly string[], day: string, fileIndex: number): RowColumns {
  const random = rng(fileIndex * 104_729 + 3);
  const start = Date.parse(`${day}T09:00:00Z`);
  const counts = names.map((t) => (t === READ_TICKER ? 960 : 300 + Math.floor(random() * 661)));
  const c = emptyColumns(counts.reduce((a, b) => a + b, 0));
  names.forEach((ticker, i) => {
    for (let m = 0; m < (counts[i] as number); m++) push(c, ticker, start + m * 60_000, 10 + (i % 500), random);
  });
  return c;
}
