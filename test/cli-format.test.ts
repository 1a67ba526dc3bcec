import { describe, expect, it } from 'vitest';
import { estimateRemainingMs, formatBytes, formatDuration, kebab } from '../src/cli/format.js';
import { summary } from '../src/cli/main.js';
import type { PreloadReport } from '../src/preload.js';

describe('CLI formatting', () => {
  it.each([
    [512, '512 B'],
    [2048, '2.0 KB'],
    [5 * 1024 ** 2, '5.0 MB'],
    [3 * 1024 ** 3, '3.00 GB'],
  ])('formatBytes(%i) = %s', (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [1234, '1.2s'],
    [65_000, '1m05s'],
    [3_723_000, '1h02m'],
    [Number.NaN, '--'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('names options as flags', () => {
    expect(kebab('retryDelayMs')).toBe('retry-delay-ms');
    expect(kebab('workers')).toBe('workers');
  });

  it('estimates the time left from the download rate, not from skipped files', () => {
    expect(estimateRemainingMs({ total: 1000, done: 600, worked: 100, elapsedMs: 1000, listingDone: true })).toBe(4000);
    expect(estimateRemainingMs({ total: 1000, done: 600, worked: 100, elapsedMs: 1000, listingDone: false })).toBeNaN();
  });

  it('says when a rerun has nothing to download, and lists each failure', () => {
    const base: PreloadReport = {
      symbols: ['TSLA'],
      dataset: 'us_stocks_sip/day_aggs_v1',
      start: '2024-01-01',
      end: '2024-12-31',
      files: { listed: 252, downloaded: 0, skipped: 252, failed: 0 },
      bytes: 0,
      bars: 0,
      barRange: null,
      elapsedMs: 300,
      failures: [],
      retries: 0,
      republished: 0,
      fromRawMirror: 0,
      notes: [],
      malformedRows: 0,
      duplicateRows: 0,
    };
    expect(summary(base)).toContain('Nothing to download: all 252 files');
    const failed = summary({
      ...base,
      files: { listed: 252, downloaded: 1, skipped: 250, failed: 1 },
      failures: [{ key: 'k', code: 'ERR_NOT_FOUND', message: 'k: listed but not found' }],
    });
    expect(failed).not.toContain('Nothing to download');
    expect(failed).toContain('FAILED k: k: listed but not found [ERR_NOT_FOUND]');
  });
});
