import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { command } from '../../src/cli/commands.js';
import { errorLine } from '../../src/cli/exit.js';
import { estimateRemainingMs, failureLine, formatBytes, formatDuration } from '../../src/cli/format.js';
import { InvalidOptionError } from '../../src/errors.js';
import { jsonReport, main, summary } from '../../src/cli/main.js';
import type { PreloadReport } from '../../src/preload.js';

describe('CLI formatting', () => {
  it('names a failed key once, whether or not its message starts with it', () => {
    const key = 'us_stocks_sip/day_aggs_v1/2024/01/2024-01-02.csv.gz';
    expect(failureLine({ key, message: `${key}: 3 bytes, expected 5`, code: 'ERR_INTEGRITY' })).toBe(`failed: ${key}: 3 bytes, expected 5 [ERR_INTEGRITY]`);
    expect(failureLine({ key, message: 'HTTP 500', code: 'ERR_HTTP' })).toBe(`failed: ${key}: HTTP 500 [ERR_HTTP]`);
  });

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
    const said = (option: string): string => errorLine(new InvalidOptionError(option, -1, `Expected \`${option}\` to be valid, got \`${option}\``), command('run'));
    expect(said('retryDelayMs')).toBe('Expected --retry-delay-ms to be valid, got `retryDelayMs`');
    expect(said('workers')).toBe('Expected --workers to be valid, got `workers`');
    expect(said('storeTimeoutMs')).toBe('Expected --store-timeout to be valid, got `storeTimeoutMs`');
    // Not a flag of this command: left as the library says it.
    expect(errorLine(new InvalidOptionError('adjust', 'x', 'Expected `adjust` to be valid'), command('run'))).toBe('Expected `adjust` to be valid');
  });

  it('estimates the time left from the download rate, not from skipped files', () => {
    expect(estimateRemainingMs({ total: 1000, done: 600, worked: 100, elapsedMs: 1000, listingDone: true })).toBe(4000);
    expect(estimateRemainingMs({ total: 1000, done: 600, worked: 100, elapsedMs: 1000, listingDone: false })).toBeNaN();
  });

  it('says when a rerun has nothing to download, and lists each failure', () => {
    const base: PreloadReport = {
      symbols: ['TSLA'],
      all: false,
      tickers: 0,
      dataset: 'us_stocks_sip/day_aggs_v1',
      interval: '1d',
      start: '2024-01-01',
      end: '2024-12-31',
      files: { listed: 252, downloaded: 0, skipped: 252, failed: 0 },
      bytes: 0,
      bars: 0,
      barRange: null,
      elapsedMs: 300,
      failures: [],
      retries: 0,
      throttled: 0,
      republished: 0,
      fromRawMirror: 0,
      notes: [],
      malformedRows: 0,
      duplicateRows: 0,
    };
    expect(summary(base)).toContain('Nothing to download: all 252 files');
    expect(summary(base)).toContain('--clear-progress starts over');
    // A sync takes no --clear-progress: its parts do not offer it.
    expect(summary(base, { sync: true })).toContain('Nothing to download: all 252 files');
    expect(summary(base, { sync: true })).not.toContain('--clear-progress');
    const failed = summary({
      ...base,
      files: { listed: 252, downloaded: 1, skipped: 250, failed: 1 },
      failures: [{ key: 'k', code: 'ERR_NOT_FOUND', message: 'k: listed but not found' }],
    });
    expect(failed).not.toContain('Nothing to download');
    expect(failed).toContain('FAILED k: k: listed but not found [ERR_NOT_FOUND]');
  });

  it('shows the bars of a day file as days, and minute bars in New York time', () => {
    const base = { symbols: ['TSLA'], all: false, tickers: 0, start: '2026-03-02', end: '2026-03-09', files: { listed: 6, downloaded: 6, skipped: 0, failed: 0 } };
    const report = (dataset: string, first: string, last: string): PreloadReport => ({
      // The interval the caller asked for decides how times are shown, not the dataset's name.
      ...base, dataset, interval: dataset.includes('minute') ? '5m' : '1d', bytes: 1, bars: 2, barRange: { first, last }, elapsedMs: 1, failures: [], retries: 0, throttled: 0, republished: 0,
      fromRawMirror: 0, notes: [], malformedRows: 0, duplicateRows: 0,
    });
    // Day bars start at 05:00 UTC (midnight in New York): the UTC date is the day.
    expect(summary(report('us_stocks_sip/day_aggs_v1', '2026-03-02T05:00:00.000Z', '2026-03-09T04:00:00.000Z'))).toContain(
      'bars:    2026-03-02 to 2026-03-09 in the cache',
    );
    // 04:00 EST on the 2nd, 19:59 EDT on the 9th (after the DST change): that evening is past midnight UTC.
    expect(summary(report('us_stocks_sip/minute_aggs_v1', '2026-03-02T09:00:00.000Z', '2026-03-09T23:59:00.000Z'))).toContain(
      'bars:    2026-03-02 04:00 to 2026-03-09 19:59 New York time in the cache',
    );
    expect(summary(report('us_stocks_sip/minute_aggs_v1', '2026-03-02T09:00:00.000Z', '2026-03-10T00:59:00.000Z'))).toContain(
      'to 2026-03-09 20:59 New York time',
    );
  });

  it('names each misdated file, each minute file with rows outside its day and each file with conflicting repeats, in the summary and --json', () => {
    const r: PreloadReport = {
      symbols: ['TSLA'], all: false, tickers: 0, dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', start: '2019-08-08', end: '2019-08-14',
      files: { listed: 5, downloaded: 5, skipped: 0, failed: 0 }, bytes: 1, bars: 5, barRange: null, elapsedMs: 1, failures: [], retries: 0,
      throttled: 0, republished: 0, fromRawMirror: 0, notes: [], malformedRows: 0, duplicateRows: 0,
      misdatedFiles: [
        { key: 'us_stocks_sip/day_aggs_v1/2019/08/2019-08-12.csv.gz', day: '2019-08-12', rows: 15, claimedDate: '2019-08-13' },
        { key: 'us_stocks_sip/day_aggs_v1/2019/08/2019-08-12.csv.gz', day: '2019-08-12', rows: 1, claimedDate: '2019-08-14' },
      ],
      outsideSession: [{ key: 'us_stocks_sip/minute_aggs_v1/2019/08/2019-08-12.csv.gz', day: '2019-08-12', rows: 2 }],
      duplicateFiles: [{ key: 'us_stocks_sip/day_aggs_v1/2019/08/2019-08-09.csv.gz', day: '2019-08-09', rows: 3 }],
    };
    const text = summary(r, { sync: true });
    expect(text).toContain('2019-08-12.csv.gz: 15 rows stamped 2019-08-13, stored under 2019-08-12');
    expect(text).toContain('2019-08-12.csv.gz: 1 row stamped 2019-08-14, stored under 2019-08-12');
    expect(text).toContain('2019-08-12.csv.gz: 2 rows outside 2019-08-12, kept with their own time');
    expect(text).toContain("duplicates: 2019-08-09.csv.gz: 3 rows of a ticker and time with other values than the file's last, dropped");
    const doc = JSON.parse(JSON.stringify(jsonReport(r))) as PreloadReport;
    expect(doc.misdatedFiles).toEqual(r.misdatedFiles);
    expect(doc.outsideSession).toEqual(r.outsideSession);
    expect(doc.duplicateFiles).toEqual(r.duplicateFiles);
    const clean: PreloadReport = { ...r };
    delete clean.misdatedFiles;
    delete clean.outsideSession;
    delete clean.duplicateFiles;
    expect(Object.keys(jsonReport(clean))).not.toContain('duplicateFiles');
    expect(Object.keys(jsonReport(clean))).not.toContain('misdatedFiles');
    expect(Object.keys(jsonReport(clean))).not.toContain('outsideSession');
  });
});

describe('bad arguments: one line naming the flag', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'pmd-cli-'));
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  /** Runs the CLI in-process with its output captured. */
  async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const sink = (write: (s: string) => void) => new Writable({ write: (chunk, _enc, done) => (write(String(chunk)), done()) });
    const code = await main(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: {} });
    return { code, stdout, stderr };
  }

  it.each([
    [['show'], 'preload-market-data show: show takes exactly one symbol'],
    [['show', 'TSLA', 'AAPL'], 'preload-market-data show: show takes exactly one symbol'],
    [['show', 'TSLA', '--last', '0'], 'preload-market-data show: Expected --last to be a positive integer, got `0`'],
    [['show', 'TSLA', '--format', 'xml'], 'preload-market-data show: Expected --format to be one of table, csv, jsonl, got `xml`'],
    [['show', 'TSLA', '--period', '5x'], 'preload-market-data show: Expected --period to be one of'],
    [['show', 'TSLA', '--bogus'], 'preload-market-data show: unknown option --bogus'],
    [['status', 'TSLA'], 'preload-market-data status: status takes no symbol, got `TSLA`'],
    [['status', '--store', 'mysql://x'], 'preload-market-data status: Expected --store to be a PostgreSQL URL'],
    [['TSLA', '--period', '1y', '--start', '2024-01-01'], 'preload-market-data: Use either --period or --start, not both'],
    [['TSLA', '--start', '2024-05-02', '--end', '2024-05-01'], 'preload-market-data: Expected --start (2024-05-02) to be on or before --end (2024-05-01)'],
    [['TSLA', '--session', 'start'], 'preload-market-data: Expected --session to be one of regular, extended, got `start` (string)'],
    [['TSLA', '--max-rps', 'fast'], 'preload-market-data: Expected --max-rps to be a number of requests per second above 0, got `fast` (string)'],
    [['TSLA', '--store-timeout', '1m'], 'preload-market-data: Expected --store-timeout to be an integer number of milliseconds from 0 to 3600000, got `1m` (string)'],
  ])('%j exits 2 with one line', async (argv, line) => {
    const r = await run([...argv, '--cache-dir', cacheDir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(line);
  });
});
