import { describe, expect, it } from 'vitest';
import { recordCoverage } from '../src/run/coverage.js';
import { FakeStore, plans } from './run-fakes.js';

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
    await recordCoverage(store, { plans: [stocks, crypto], starts, failedJobs: new Set(), failedByAnyone: undefined });
    expect(store.coverage).toEqual([
      `TSLA 1d 2026-01-01..${stocks.publishedEnd}`,
      `AAPL 1d 2026-01-01..${stocks.publishedEnd}`,
      `X:BTC-USD 1d 2026-01-01..${crypto.publishedEnd}`,
    ]);
  });

  it('skips a job with a failed file, a job never listed, and a window with nothing published yet', async () => {
    const store = new FakeStore();
    await recordCoverage(store, { plans: [stocks, crypto], starts: new Map([[stocks, '2026-01-01']]), failedJobs: new Set([stocks.job]), failedByAnyone: 0 });
    expect(store.coverage).toEqual([]);
    await recordCoverage(store, { plans: [stocks], starts: new Map([[stocks, '2026-12-01']]), failedJobs: new Set(), failedByAnyone: 0 });
    expect(store.coverage).toEqual([]);
  });

  it('records nothing when another process on a shared store failed a file of the job', async () => {
    const store = new FakeStore();
    await recordCoverage(store, { plans: [stocks], starts: new Map([[stocks, '2026-01-01']]), failedJobs: new Set(), failedByAnyone: 1 });
    expect(store.coverage).toEqual([]);
  });
});
