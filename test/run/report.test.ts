import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/run/report.js';
import { RunStats } from '../../src/run/stats.js';
import type { Store } from '../../src/store/types.js';
import { FakeStore, plans } from '../fixtures/run-fakes.js';

describe('buildReport', () => {
  it('spans the jobs, counts the files and reads the bar range of the whole window', async () => {
    const [stocks, crypto] = plans(['TSLA', 'BTC-USD'], { start: '2026-01-01', end: '2026-01-31' });
    if (!stocks || !crypto) throw new Error('expected two jobs');
    const stats = new RunStats();
    Object.assign(stats.counts, { listed: 5, skipped: 1, retries: 2, republished: 1 });
    stats.downloaded({ bytes: 100, rows: 3, malformed: 1, duplicates: 2, fromMirror: false });
    stats.downloaded({ bytes: 50, rows: 1, malformed: 0, duplicates: 0, fromMirror: true });
    stats.failed({ key: 'k', code: 'ERR_PARSE', message: 'bad' });
    stats.notes.push('a note');
    const asked: string[] = [];
    const store: Pick<Store, 'barRange'> = {
      barRange: (tickers, interval, start, end) => {
        asked.push(`${tickers.join(',')} ${interval} ${start}..${end}`);
        return Promise.resolve(tickers[0] === 'TSLA' ? { first: Date.parse('2026-01-02T14:30:00Z'), last: Date.parse('2026-01-30T21:00:00Z') } : undefined);
      },
    };
    // The crypto job's listing started later (as `period: max` can): the report starts at the earliest.
    const starts = new Map([
      [stocks, '2026-01-01'],
      [crypto, '2026-01-10'],
    ]);
    const started = performance.now() - 1_234;
    const report = await buildReport({ plans: [stocks, crypto], starts, store, stats, interval: '1d', started, job: undefined });
    expect(asked).toEqual(['TSLA 1d 2026-01-01..2026-01-31', 'X:BTC-USD 1d 2026-01-10..2026-01-31']);
    expect(report).toMatchObject({
      symbols: ['TSLA', 'BTC-USD'],
      dataset: `${stocks.dataset},${crypto.dataset}`,
      interval: '1d',
      start: '2026-01-01',
      end: '2026-01-31',
      files: { listed: 5, downloaded: 2, skipped: 1, failed: 1 },
      bytes: 100,
      bars: 4,
      barRange: { first: '2026-01-02T14:30:00.000Z', last: '2026-01-30T21:00:00.000Z' },
      failures: [{ key: 'k', code: 'ERR_PARSE', message: 'bad' }],
      retries: 2,
      republished: 1,
      fromRawMirror: 1,
      notes: ['a note'],
      malformedRows: 1,
      duplicateRows: 2,
    });
    expect(report.elapsedMs).toBeGreaterThanOrEqual(1_234);
    expect(report).not.toHaveProperty('job');
  });

  it('a job never listed falls back to its plan; no bars: a null range; a shared job is reported', async () => {
    const [plan] = plans(['TSLA'], { start: '2026-01-01', end: '2026-01-31' });
    if (!plan) throw new Error('no plan');
    const job = { files: 1, done: 1, claimed: 0, failed: 0, pending: 0, processId: 2, processes: [] };
    const report = await buildReport({ plans: [plan], starts: new Map(), store: new FakeStore(), stats: new RunStats(), interval: '1d', started: performance.now(), job });
    expect(report.start).toBe('2026-01-01');
    expect(report.barRange).toBeNull();
    expect(report.job).toEqual(job);
  });
});
