import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { adjustmentSteps, applyAdjustment, checkAdjustmentTypes, checkHistoricalFactors, dedupeSplits, factorFor, type Step } from '../../src/read/adjust.js';
import { sessionDay } from '../../src/market-time.js';
import type { CorporateActions, Dividend, Split } from '../../src/corporate-actions.js';
import type { Bar } from '../../src/types.js';
import { corporateActionsFixture, KNOWN_CLOSE_DIVIDEND, REVERSE_SPLIT_TICKER, STOCK_DIVIDEND, STOCK_DIVIDEND_BARS, stockDividendFixture } from '../fixtures/actions.js';
import { generateDataset, GENERATED_SPLITS, STOCKS_DATASET, type GeneratedDataset } from '../fixtures/generate.js';
import { readSourceBars } from '../fixtures/source-bars.js';

// Times are written with New York's offset spelled out, so the tests do not lean on the code's own
// time-zone arithmetic: -04:00 in summer (EDT), -05:00 in winter (EST).
const bar = (iso: string, close: number, volume = 1000, transactions: number | null = 7): Bar => ({
  time: Date.parse(iso),
  open: close - 1,
  high: close + 2,
  low: close - 3,
  close,
  volume,
  transactions,
});
/** A day bar, stamped at New York midnight as in the flat files. */
const dayBar = (day: string, close: number, volume = 1000): Bar => bar(`${day}T00:00:00${edt(day) ? '-04:00' : '-05:00'}`, close, volume);
// Good enough for the days used here (no test day sits on a DST switch).
const edt = (day: string): boolean => day.slice(5) >= '03-15' && day.slice(5) <= '10-31';

const split = (ticker: string, executionDate: string, splitFrom: number, splitTo: number, extra: Partial<Split> = {}): Split => ({
  ticker,
  executionDate,
  splitFrom,
  splitTo,
  adjustmentType: splitTo >= splitFrom ? 'forward_split' : 'reverse_split',
  historicalAdjustmentFactor: null,
  id: `${ticker}-${executionDate}-${splitFrom}-${splitTo}`,
  ...extra,
});
const dividend = (ticker: string, exDividendDate: string, cashAmount: number, extra: Partial<Dividend> = {}): Dividend => ({
  ticker,
  exDividendDate,
  cashAmount,
  currency: 'USD',
  distributionType: 'recurring',
  frequency: 4,
  payDate: null,
  recordDate: null,
  declarationDate: null,
  splitAdjustedCashAmount: null,
  historicalAdjustmentFactor: null,
  id: `${ticker}-${exDividendDate}-${cashAmount}`,
  ...extra,
});
const actions = (splits: Split[], dividends: Dividend[] = []): CorporateActions => ({ splits, dividends });
const noClose = (): undefined => undefined;

/** Price and volume multipliers each output bar got, read back from the bars. */
const factors = (before: readonly Bar[], after: readonly Bar[]) =>
  after.map((b, i) => ({ price: b.close / (before[i] as Bar).close, volume: b.volume / (before[i] as Bar).volume }));

const TSLA = actions([split('TSLA', '2020-08-31', 1, 5), split('TSLA', '2022-08-25', 1, 3)]);

describe('applyAdjustment with splits', () => {
  it.each<{ name: string; a: CorporateActions; bars: Bar[]; price: number[] }>([
    {
      name: 'TSLA: both splits before 2020-08-31, the later one until 2022-08-24, none from the execution date on',
      a: TSLA,
      bars: ['2020-08-28', '2020-08-31', '2022-08-24', '2022-08-25', '2022-08-26'].map((d) => dayBar(d, 300)),
      price: [1 / 15, 1 / 3, 1 / 3, 1, 1],
    },
    {
      name: 'a reverse split (1-for-10): earlier prices x10, volume /10',
      a: actions([split('ZW', '2023-03-15', 10, 1)]),
      bars: [dayBar('2023-03-14', 0.3), dayBar('2023-03-15', 3.1)],
      price: [10, 1],
    },
    {
      name: 'a ratio that is not whole (3-for-2) is kept real',
      a: actions([split('XYZ', '2024-01-10', 2, 3)]),
      bars: [dayBar('2024-01-09', 90), dayBar('2024-01-10', 60)],
      price: [2 / 3, 1],
    },
    {
      name: 'a split dated on a Saturday applies from the next session (Monday)',
      a: actions([split('XYZ', '2022-08-27', 1, 2)]),
      bars: [dayBar('2022-08-26', 100), dayBar('2022-08-29', 50)],
      price: [0.5, 1],
    },
    {
      name: 'a split and a reverse split compound',
      a: actions([split('XYZ', '2021-05-03', 1, 4), split('XYZ', '2023-06-01', 5, 1)]),
      bars: [dayBar('2021-04-30', 10), dayBar('2021-05-03', 2.5), dayBar('2023-06-01', 12.5)],
      price: [5 / 4, 5, 1],
    },
  ])('$name', ({ a, bars, price }) => {
    const { steps, notes } = adjustmentSteps(a, 'splits', noClose);
    const out = applyAdjustment(bars, steps, sessionDay);
    expect(notes).toEqual([]);
    const got = factors(bars, out);
    got.forEach((f, i) => {
      expect(f.price).toBeCloseTo(price[i] as number, 12);
      // Volume moves the other way: price x volume stays what was traded.
      expect(f.volume).toBeCloseTo(1 / (price[i] as number), 9);
      const b = out[i] as Bar;
      const raw = bars[i] as Bar;
      expect(b.close * b.volume).toBeCloseTo(raw.close * raw.volume, 6);
      for (const k of ['open', 'high', 'low'] as const) expect(b[k]).toBeCloseTo(raw[k] * (price[i] as number), 9);
      expect(b.transactions).toBe(raw.transactions);
      expect(b.time).toBe(raw.time);
    });
  });

  it('adjusts the evening before the execution date but not its 04:00 pre-market (New York session day)', () => {
    // EDT: 19:00 New York on 08-24 is 23:00Z the same day; 04:00 on 08-25 is 08:00Z.
    // EST: 19:30 New York on 2024-01-09 is 00:30Z on 01-10, a UTC day that would wrongly say "on the split".
    const a = actions([split('TSLA', '2022-08-25', 1, 3), split('XYZ', '2024-01-10', 1, 2)]);
    const bars = [
      bar('2022-08-24T19:00:00-04:00', 900),
      bar('2022-08-25T04:00:00-04:00', 300),
      bar('2024-01-09T19:30:00-05:00', 100),
      bar('2024-01-10T04:00:00-05:00', 50),
    ];
    const { steps } = adjustmentSteps(a, 'splits', noClose);
    const got = factors(bars, applyAdjustment(bars, steps, sessionDay)).map((f) => f.price);
    expect(got[0]).toBeCloseTo(1 / 6, 12);
    expect(got[1]).toBeCloseTo(1 / 2, 12);
    expect(got[2]).toBeCloseTo(1 / 2, 12);
    expect(got[3]).toBe(1);
  });

  it("'none' returns the raw bars, as new objects; the input is never changed", () => {
    const bars = [dayBar('2020-08-28', 300), dayBar('2022-08-26', 300)];
    const copy = structuredClone(bars);
    for (const mode of ['none', 'splits', 'total'] as const) {
      const { steps } = adjustmentSteps(TSLA, mode, () => 100);
      const out = applyAdjustment(bars, steps, sessionDay);
      expect(out).toHaveLength(2);
      out.forEach((b, i) => expect(b).not.toBe(bars[i]));
      if (mode === 'none') expect(out).toEqual(bars);
    }
    expect(bars).toEqual(copy);
  });

  it('keeps fields besides the prices and volume (a BarRow keeps its symbol and day)', () => {
    const rows = [{ ...dayBar('2022-08-24', 900), symbol: 'TSLA', day: '2022-08-24' }];
    const [out] = applyAdjustment(rows, adjustmentSteps(TSLA, 'splits', noClose).steps, sessionDay);
    expect(out).toMatchObject({ symbol: 'TSLA', day: '2022-08-24', transactions: 7 });
    expect(out?.close).toBeCloseTo(300, 9);
  });
});

describe('duplicate splits', () => {
  it('applies one split per ticker, date and ratio, and counts the rest', () => {
    const rows = [split('TSLA', '2022-08-25', 1, 3, { id: 'a' }), split('TSLA', '2022-08-25', 1, 3, { id: 'b' }), split('TSLA', '2022-08-25', 2, 6, { id: 'c' })];
    const d = dedupeSplits(rows);
    expect(d.duplicates).toBe(2);
    expect(d.splits.map((s) => s.id)).toEqual(['a']);
    expect(d.notes).toEqual([expect.stringMatching(/^TSLA 2022-08-25: 3 rows for one 3-for-1 split/)]);
    const { steps, notes } = adjustmentSteps(actions(rows), 'splits', noClose);
    expect(notes).toEqual(d.notes);
    // Once, not cubed.
    expect(factorFor(steps, '2022-08-24').price).toBeCloseTo(1 / 3, 12);
  });

  it('keeps the ratio most rows agree on when one date has different ratios, and says so', () => {
    const rows = [split('X', '2024-02-01', 1, 2, { id: 'z1' }), split('X', '2024-02-01', 1, 20, { id: 'a1' }), split('X', '2024-02-01', 1, 2, { id: 'z2' })];
    const d = dedupeSplits(rows);
    expect(d.splits).toEqual([rows[0]]);
    expect(d.duplicates).toBe(2);
    expect(d.notes.some((n) => n.includes('different ratios') && n.includes('applied 2-for-1'))).toBe(true);
    // A tie is broken by the lowest id, whatever the order of the rows.
    const tie = [split('X', '2024-02-01', 1, 2, { id: 'b' }), split('X', '2024-02-01', 1, 20, { id: 'a' })];
    expect(dedupeSplits(tie).splits[0]?.id).toBe('a');
    expect(dedupeSplits([...tie].reverse()).splits[0]?.id).toBe('a');
  });

  it('notes the same split reported a day apart, and applies both', () => {
    const d = dedupeSplits([split('X', '2024-02-01', 1, 2), split('X', '2024-02-02', 1, 2), split('X', '2024-09-02', 1, 2)]);
    expect(d.splits).toHaveLength(3);
    expect(d.duplicates).toBe(0);
    expect(d.notes).toEqual([expect.stringContaining('2024-02-01 and 2024-02-02')]);
  });
});

describe("'total': splits and dividends", () => {
  // Raw closes, with a split on 2022-08-25 and dividends after and across it.
  const days = ['2022-08-22', '2022-08-23', '2022-08-24', '2022-08-25', '2022-08-26', '2022-08-29', '2022-08-30', '2022-08-31'];
  const closes = [900, 905, 903, 301, 302, 303.5, 300, 298];
  const raw = days.map((d, i) => dayBar(d, closes[i] as number, 3000 + i));
  const a = actions(
    [split('T', '2022-08-25', 1, 3)],
    // Two on one ex-date (summed), one before the split (in pre-split money, like its close).
    [dividend('T', '2022-08-23', 3), dividend('T', '2022-08-29', 0.5), dividend('T', '2022-08-29', 0.25, { distributionType: 'special' })],
  );
  const closeBefore = (exDate: string): number | undefined => {
    const before = raw.filter((b) => sessionDay(b.time) < exDate);
    return before[before.length - 1]?.close;
  };

  it('equals the formula computed here, event by event', () => {
    const { steps, notes } = adjustmentSteps(a, 'total', closeBefore);
    expect(notes).toEqual([]);
    const out = applyAdjustment(raw, steps, sessionDay);
    // Naively: every event after the bar's day multiplies it.
    const prevClose = (exDate: string): number => closes[days.findIndex((d) => d >= exDate) - 1] as number;
    days.forEach((d, i) => {
      let price = 1;
      let volume = 1;
      if (d < '2022-08-25') {
        price /= 3;
        volume *= 3;
      }
      if (d < '2022-08-23') price *= 1 - 3 / prevClose('2022-08-23');
      if (d < '2022-08-29') price *= 1 - 0.75 / prevClose('2022-08-29');
      const b = out[i] as Bar;
      const r = raw[i] as Bar;
      expect(b.close).toBeCloseTo(r.close * price, 9);
      expect(b.open).toBeCloseTo(r.open * price, 9);
      expect(b.volume).toBeCloseTo(r.volume * volume, 9);
      expect(b.transactions).toBe(r.transactions);
    });
    // Spot checks in numbers: 1 - 0.75/302 from 08-26 back, and 1 - 3/900 before 08-23.
    expect((out[4] as Bar).close / 302).toBeCloseTo(1 - 0.75 / 302, 12);
    expect((out[0] as Bar).close / 900).toBeCloseTo((1 / 3) * (1 - 3 / 900) * (1 - 0.75 / 302), 12);
  });

  it("is the 'splits' series when there are no dividends, and 'splits' ignores dividends", () => {
    const s = adjustmentSteps(a, 'splits', closeBefore).steps;
    expect(s).toEqual(adjustmentSteps(actions(a.splits), 'total', closeBefore).steps);
    expect(s).toEqual([{ date: '2022-08-25', price: 1 / 3, volume: 3 }]);
  });

  it('skips, with a note, a dividend with no session before it and one not below its close', () => {
    const b = actions([], [dividend('T', '2022-08-22', 1), dividend('T', '2022-08-26', 301), dividend('T', '2022-08-30', 0.5)]);
    const { steps, notes } = adjustmentSteps(b, 'total', closeBefore);
    expect(notes).toEqual([expect.stringContaining('ex 2022-08-22: no session before it'), expect.stringContaining('ex 2022-08-26: not below the close before it (301)')]);
    expect(steps).toEqual([{ date: '2022-08-30', price: 1 - 0.5 / 303.5, volume: 1 }]);
  });

  it('counts a dividend row repeated under one id once', () => {
    const d = dividend('T', '2022-08-29', 0.5, { id: 'same' });
    const { steps, notes } = adjustmentSteps(actions([], [d, { ...d }]), 'total', closeBefore);
    expect(steps[0]?.price).toBeCloseTo(1 - 0.5 / 302, 12);
    expect(notes).toEqual([expect.stringContaining('1 dividend row repeated')]);
  });
});

describe('a stock dividend adjusts like the split it is', () => {
  // A row of the splits endpoint with adjustment_type stock_dividend: 5% more shares from 2019-03-06 on.
  const stock = (from: number, to: number): Split => split('STKD', '2019-03-06', from, to, { adjustmentType: 'stock_dividend' });
  const raw = STOCK_DIVIDEND_BARS.map((b) => ({ ...dayBar(b.day, b.close, b.volume), open: b.open, high: b.high, low: b.low }));
  const near = (got: number[], want: number[]): void => {
    expect(got).toHaveLength(want.length);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i] as number, 9));
  };

  it.each([
    { name: '1 -> 1.05', from: 1, to: 1.05 },
    { name: '100 -> 105', from: 100, to: 105 },
    { name: '20 -> 21', from: 20, to: 21 },
  ])('$name: prices before the date / 1.05, volume x 1.05, the rest as filed', ({ from, to }) => {
    const { steps, notes } = adjustmentSteps(actions([stock(from, to)]), 'splits', noClose);
    expect(notes).toEqual([]);
    const out = applyAdjustment(raw, steps, sessionDay);
    // By hand: 105 / 1.05 = 100 and 107.10 / 1.05 = 102; volumes 1000 x 1.05 = 1050, 2000 x 1.05 = 2100.
    near(out.map((b) => b.close), [100, 102, 101, 100, 99.6]);
    near(out.map((b) => b.volume), [1050, 2100, 3000, 4000, 5000]);
    expect(out[0]?.open).toBeCloseTo(104 / 1.05, 9);
    expect(out[1]?.high).toBeCloseTo(108 / 1.05, 9);
    expect(out.map((b) => b.transactions)).toEqual(raw.map((b) => b.transactions));
  });

  it("'total' applies the stock dividend as a split and the cash dividend by its close; 'splits' leaves the cash out", () => {
    const a = stockDividendFixture().get(STOCK_DIVIDEND.ticker) as CorporateActions;
    const closeBefore = (exDate: string): number | undefined => raw.filter((b) => sessionDay(b.time) < exDate).at(-1)?.close;
    const total = applyAdjustment(raw, adjustmentSteps(a, 'total', closeBefore).steps, sessionDay);
    // By hand: cash 0.50 ex 03-08 against the raw close of 03-07 (100): x 0.995 before 03-08.
    // 03-04: 105 / 1.05 x 0.995 = 99.5; 03-05: 102 x 0.995 = 101.49; 03-06: 101 x 0.995 = 100.495; 03-07: 99.5.
    near(total.map((b) => b.close), [99.5, 101.49, 100.495, 99.5, 99.6]);
    near(total.map((b) => b.volume), [1050, 2100, 3000, 4000, 5000]);
    const splits = applyAdjustment(raw, adjustmentSteps(a, 'splits', closeBefore).steps, sessionDay);
    near(splits.map((b) => b.close), [100, 102, 101, 100, 99.6]);
  });

  it('compounds with a later split: 1 / (1.05 x 2) before both, 1/2 between them', () => {
    const a = actions([split('X', '2021-06-01', 1, 1.05, { adjustmentType: 'stock_dividend' }), split('X', '2022-06-01', 1, 2)]);
    const { steps } = adjustmentSteps(a, 'splits', noClose);
    expect(factorFor(steps, '2021-05-28').price).toBeCloseTo(1 / 2.1, 12);
    expect(factorFor(steps, '2021-05-28').volume).toBeCloseTo(2.1, 12);
    expect(factorFor(steps, '2021-06-01').price).toBe(0.5);
    expect(factorFor(steps, '2022-06-01').price).toBe(1);
  });

  it("agrees with the provider's cumulative factor, which counts stock dividends; a missing one is noted", () => {
    // 1/2.1 = 0.476190 on the stock dividend (it and the split after it), 0.5 on the split.
    const chain = [split('X', '2021-06-01', 1, 1.05, { adjustmentType: 'stock_dividend', historicalAdjustmentFactor: 0.47619 }), split('X', '2022-06-01', 1, 2, { historicalAdjustmentFactor: 0.5 })];
    expect(checkHistoricalFactors(actions(chain))).toEqual([]);
    expect(checkHistoricalFactors(stockDividendFixture().get(STOCK_DIVIDEND.ticker) as CorporateActions)).toEqual([]);
    // A 2020 split whose factor (0.5 x 1/2.1 = 0.238095) counts the stock dividend the rows read do not have.
    const without = [split('X', '2020-01-02', 1, 2, { historicalAdjustmentFactor: 0.238095 }), split('X', '2022-06-01', 1, 2, { historicalAdjustmentFactor: 0.5 })];
    expect(checkHistoricalFactors(actions(without))).toEqual([expect.stringMatching(/^X 2020-01-02: the provider's historical_adjustment_factor is 0.238095, the splits read give 0.25:/)]);
  });

  it('is one event with a split row of the same date and ratio (a split paid as a stock dividend, served twice)', () => {
    const rows = [split('X', '2021-06-01', 1, 1.05, { adjustmentType: 'stock_dividend', id: 'a' }), split('X', '2021-06-01', 100, 105, { adjustmentType: 'forward_split', id: 'b' })];
    const { steps, notes } = adjustmentSteps(actions(rows), 'splits', noClose);
    expect(factorFor(steps, '2021-05-28').price).toBeCloseTo(1 / 1.05, 12);
    expect(notes).toEqual(['X 2021-06-01: 2 rows for one 5% stock dividend (1.05-for-1), kept one']);
  });

  it('notes a row whose adjustment_type contradicts its ratio, and applies the ratio as given', () => {
    const rows = [
      split('X', '2021-01-04', 1.05, 1, { adjustmentType: 'stock_dividend' }),
      split('X', '2021-02-01', 1, 1, { adjustmentType: 'forward_split' }),
      split('X', '2021-03-01', 1, 4, { adjustmentType: 'reverse_split' }),
      split('X', '2021-04-01', 1, 1.05, { adjustmentType: 'stock_dividend' }),
      split('X', '2021-05-03', 10, 1, { adjustmentType: 'reverse_split' }),
      split('X', '2021-06-01', 10, 11, { adjustmentType: 'bonus_issue' }),
    ];
    expect(checkAdjustmentTypes(rows)).toEqual([
      'X 2021-01-04: a stock_dividend row with split_from 1.05 and split_to 1; its ratio is applied as given',
      'X 2021-02-01: a forward_split row with split_from 1 and split_to 1; its ratio is applied as given',
      'X 2021-03-01: a reverse_split row with split_from 1 and split_to 4; its ratio is applied as given',
    ]);
    expect(factorFor(adjustmentSteps(actions(rows.slice(0, 1)), 'splits', noClose).steps, '2020-12-31').price).toBeCloseTo(1.05, 12);
  });
});

describe('factorFor', () => {
  it('is the product of every event after the day, by binary search (against a linear scan)', () => {
    // Steps on every 7th day of 2024 with random factors; days all over and around them.
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const events = Array.from({ length: 40 }, (_, i) => ({ date: new Date(Date.UTC(2024, 0, 1 + 7 * i)).toISOString().slice(0, 10), f: 0.5 + rand() }));
    const steps: Step[] = events.map((e, i) => {
      const later = events.slice(i);
      return { date: e.date, price: later.reduce((p, x) => p * x.f, 1), volume: later.reduce((p, x) => p / x.f, 1) };
    });
    for (let d = Date.UTC(2023, 11, 1); d <= Date.UTC(2024, 11, 31); d += 86_400_000) {
      const day = new Date(d).toISOString().slice(0, 10);
      const expected = events.filter((e) => e.date > day).reduce((p, e) => p * e.f, 1);
      expect(factorFor(steps, day).price).toBeCloseTo(expected, 12);
    }
    expect(factorFor([], '2024-01-01')).toEqual({ price: 1, volume: 1 });
  });

  it('adjusts a month of minute bars and five years of day bars in milliseconds', () => {
    const steps = adjustmentSteps(actions(Array.from({ length: 30 }, (_, i) => split('X', `${2000 + i}-06-01`, 1, 2))), 'splits', noClose).steps;
    // 21 sessions x 960 minutes, 04:00-20:00 New York (EST), and 1,255 day bars.
    const minutes: Bar[] = [];
    for (let d = 0; d < 21; d++) for (let m = 0; m < 960; m++) minutes.push(bar(new Date(Date.parse('2024-01-02T09:00:00Z') + d * 86_400_000 + m * 60_000).toISOString(), 100));
    const days: Bar[] = Array.from({ length: 1255 }, (_, i) => bar(new Date(Date.parse('2020-01-02T05:00:00Z') + i * 86_400_000).toISOString(), 100));
    const time = (bars: Bar[]): number => {
      let best = Infinity;
      for (let r = 0; r < 10; r++) {
        const t0 = performance.now();
        applyAdjustment(bars, steps, sessionDay);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    // Measured ~1-2 ms each here (best of 10); the bounds leave room for a busy shared machine.
    expect(time(minutes)).toBeLessThan(100);
    expect(time(days)).toBeLessThan(20);
  });
});

describe('checkHistoricalFactors', () => {
  it('finds nothing to say about consistent data (the fixture, duplicate row included)', () => {
    for (const a of corporateActionsFixture().values()) expect(checkHistoricalFactors(a)).toEqual([]);
    // The provider's own example: AAPL's 2005 split at 0.017857 = 1/56 with the splits of 2014 and 2020 after it.
    const aapl = actions([
      split('AAPL', '2005-02-28', 1, 2, { historicalAdjustmentFactor: 0.017857 }),
      split('AAPL', '2014-06-09', 1, 7, { historicalAdjustmentFactor: 0.035714 }),
      split('AAPL', '2020-08-31', 1, 4, { historicalAdjustmentFactor: 0.25 }),
    ]);
    expect(checkHistoricalFactors(aapl)).toEqual([]);
  });

  it("notes where our product disagrees with the provider's factor", () => {
    // TSLA's 2020 row says 1/15, but the 3-for-1 of 2022 is missing from what was read.
    const a = actions([split('TSLA', '2020-08-31', 1, 5, { historicalAdjustmentFactor: 0.066667 })]);
    expect(checkHistoricalFactors(a)).toEqual([expect.stringMatching(/^TSLA 2020-08-31: the provider's historical_adjustment_factor is 0.066667, the splits read give 0.2/)]);
    // Within the tolerance (1e-3 relative): silent; rows without a factor: not checked.
    expect(checkHistoricalFactors(actions([split('X', '2020-01-02', 1, 3, { historicalAdjustmentFactor: 0.3334 })]))).toEqual([]);
    expect(checkHistoricalFactors(actions([split('X', '2020-01-02', 1, 3)]))).toEqual([]);
  });
});

describe('with the generated flat files', () => {
  // The e2e template: shared with the other tests that generate the 5-year dataset.
  let ds: GeneratedDataset;
  beforeAll(async () => {
    ds = await generateDataset({ dir: join(tmpdir(), 'pmd-test-template'), endDate: '2026-11-20' });
  });
  const read = (ticker: string, start: string, end: string): Bar[] => readSourceBars(ds, STOCKS_DATASET, ticker, start, end);

  it.each([
    { ticker: 'TSLA', day: '2022-08-25', jump: 1 / 3 },
    { ticker: 'NVDA', day: '2024-06-10', jump: 1 / 10 },
    { ticker: REVERSE_SPLIT_TICKER, day: '2023-03-15', jump: 10 },
  ])('$ticker: the raw series shows the split of $day, the adjusted one does not', ({ ticker, day, jump }) => {
    expect(GENERATED_SPLITS).toContainEqual(expect.objectContaining({ ticker, executionDate: day }));
    const raw = read(ticker, '2021-11-22', '2026-11-20');
    const i = raw.findIndex((b) => sessionDay(b.time) >= day);
    expect(i).toBeGreaterThan(0);
    const ratio = (bars: Bar[]): number => (bars[i] as Bar).open / (bars[i - 1] as Bar).close;
    // The walk moves a few percent a day: a split's jump stands far out of that.
    expect(ratio(raw) / jump).toBeGreaterThan(0.8);
    expect(ratio(raw) / jump).toBeLessThan(1.25);
    const a = corporateActionsFixture().get(ticker) as CorporateActions;
    const adjusted = applyAdjustment(raw, adjustmentSteps(a, 'splits', noClose).steps, sessionDay);
    expect(ratio(adjusted)).toBeGreaterThan(0.8);
    expect(ratio(adjusted)).toBeLessThan(1.25);
    // Every bar from the execution date on is as stored.
    expect(adjusted.slice(i)).toEqual(raw.slice(i));
  });

  it("'total' uses the generated close before the ex-date", () => {
    const { ticker, exDividendDate, previousSession, cashAmount } = KNOWN_CLOSE_DIVIDEND;
    const raw = read(ticker, '2025-08-01', '2025-08-15');
    const prev = raw.find((b) => sessionDay(b.time) === previousSession) as Bar;
    expect(prev).toBeDefined();
    const only = actions([], corporateActionsFixture().get(ticker)?.dividends.filter((d) => d.exDividendDate === exDividendDate) ?? []);
    expect(only.dividends).toHaveLength(1);
    const closeBefore = (ex: string): number | undefined => raw.filter((b) => sessionDay(b.time) < ex).at(-1)?.close;
    const out = applyAdjustment(raw, adjustmentSteps(only, 'total', closeBefore).steps, sessionDay);
    raw.forEach((b, i) => {
      const want = sessionDay(b.time) < exDividendDate ? b.close * (1 - cashAmount / prev.close) : b.close;
      expect((out[i] as Bar).close).toBeCloseTo(want, 9);
      expect((out[i] as Bar).volume).toBe(b.volume);
    });
  });
});
