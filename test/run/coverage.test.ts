import { describe, expect, it } from 'vitest';
import { coveredThrough, recordCoverage } from '../../src/run/coverage.js';
import { FakeStore, plans } from '../fixtures/run-fakes.js';

const NOW = new Date('2026-02-10T12:00:00Z');
const [stocks, crypto] = plans(['TSLA', 'AAPL', 'BTC-USD'], { start: '2026-01-01', end: '2026-01-31', now: NOW });
if (!stocks || !crypto) throw new Error('expected two jobs');

describe('recordCoverage', () => {
  it("records each listed job's window up to its last published day, for each of its symbols", async () => {
    const store = new FakeStore();
    const starts = new Map([
      [stocks, '2026-01-01'],
      [crypto, '2026-01-01'],
    ]);
    // Friday 2026-01-30 is the stocks' last file: the Saturday after it is covered too (never a file).
    const lastListed = new Map([
      [stocks, '2026-01-30'],
      [crypto, '2026-01-31'],
    ]);
    await recordCoverage(store, { plans: [stocks, crypto], starts, lastListed, failedJobs: new Set(), failedByAnyone: undefined });
    expect(store.coverage).toEqual([
      `TSLA 1d 2026-01-01..${stocks.publishedEnd}`,
      `AAPL 1d 2026-01-01..${stocks.publishedEnd}`,
      `X:BTC-USD 1d 2026-01-01..${crypto.publishedEnd}`,
    ]);
  });

  it('skips a job with a failed file, a job never listed, and a window with nothing published yet', async () => {
    const store = new FakeStore();
    await recordCoverage(store, { plans: [stocks, crypto], starts: new Map([[stocks, '2026-01-01']]), lastListed: new Map([[stocks, '2026-01-30']]), failedJobs: new Set([stocks.job]), failedByAnyone: 0 });
    expect(store.coverage).toEqual([]);
    await recordCoverage(store, { plans: [stocks], starts: new Map([[stocks, '2026-12-01']]), lastListed: new Map(), failedJobs: new Set(), failedByAnyone: 0 });
    expect(store.coverage).toEqual([]);
  });

  it('records nothing when another process on a shared store failed a file of the job', async () => {
    const store = new FakeStore();
    await recordCoverage(store, { plans: [stocks], starts: new Map([[stocks, '2026-01-01']]), lastListed: new Map([[stocks, '2026-01-30']]), failedJobs: new Set(), failedByAnyone: 1 });
    expect(store.coverage).toEqual([]);
  });
});

describe('coveredThrough: the tail is what the listing showed, not what the clock expected', () => {
  it.each([
    // dataset, start, last listed, published end, covered through
    ['us_stocks_sip/day_aggs_v1', '2026-01-01', '2026-01-30', '2026-02-01', '2026-02-01'], // Fri: Sat and Sun never have a file
    ['us_stocks_sip/day_aggs_v1', '2026-01-01', '2026-01-28', '2026-01-31', '2026-01-28'], // Thu 29 and Fri 30 could (late, or a holiday)
    ['us_stocks_sip/day_aggs_v1', '2026-01-01', '2026-01-30', '2026-02-03', '2026-02-01'], // not past Monday's missing file
    ['us_options_opra/day_aggs_v1', '2026-01-01', '2026-01-30', '2026-01-31', '2026-01-31'],
    ['global_forex/day_aggs_v1', '2026-01-01', '2026-01-30', '2026-02-01', '2026-01-31'], // forex has Sunday files
    ['global_crypto/day_aggs_v1', '2026-01-01', '2026-01-30', '2026-01-31', '2026-01-30'], // crypto has a file every day
    ['us_stocks_sip/day_aggs_v1', '2026-01-31', undefined, '2026-02-01', '2026-02-01'], // a window of a weekend only
    ['us_stocks_sip/day_aggs_v1', '2026-01-29', undefined, '2026-02-01', '2026-01-28'], // nothing listed: nothing covered
  ])('%s from %s, last file %s, published to %s: %s', (dataset, start, last, published, expected) => {
    expect(coveredThrough(dataset, start, last, published)).toBe(expected);
  });
});
