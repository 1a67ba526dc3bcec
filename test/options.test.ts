import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { jobId, periodStart, planJobs, resolveOptions, type PreloadOptions } from '../src/options.js';

const now = new Date('2026-11-23T18:00:00Z');

function invalid(input: Record<string, unknown>): InvalidOptionError {
  try {
    resolveOptions({ now, ...input } as PreloadOptions, {});
  } catch (error) {
    if (error instanceof InvalidOptionError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
}

describe('resolveOptions', () => {
  it.each([
    [{ workers: 0 }, 'workers', 'Expected `workers` to be an integer from 1 to 64, got `0` (number)'],
    [{ workers: 65 }, 'workers', 'got `65`'],
    [{ workers: 'abc' }, 'workers', 'got `abc` (string)'],
    [{ workers: 2.5 }, 'workers', 'got `2.5`'],
    [{ period: '5x' }, 'period', 'one of 1mo, 3mo'],
    [{ start: '2024-02-30' }, 'start', 'a date YYYY-MM-DD, got `2024-02-30`'],
    [{ end: 'yesterday' }, 'end', 'got `yesterday`'],
    [{ start: '2024-05-02', end: '2024-05-01' }, 'start', 'on or before'],
    [{ period: '1y', start: '2024-01-01' }, 'period', 'either'],
    [{ endpoint: 'not a url' }, 'endpoint', 'an http(s) URL, got `not a url`'],
    [{ endpoint: 'ftp://example.invalid' }, 'endpoint', 'http(s)'],
    [{ interval: '2m' }, 'interval', 'one of 1m, 5m, 15m, 30m, 1h, 1d, got `2m`'],
    [{ session: 'night' }, 'session', 'one of regular, extended'],
    [{ bucket: 'A' }, 'bucket', 'bucket name'],
  ])('rejects %j naming the option and the value', (input, option, text) => {
    const e = invalid(input);
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.option).toBe(option);
    expect(e.message).toContain(text);
  });

  it('never echoes credentials in an error', () => {
    const e = invalid({ credentials: { accessKeyId: 'AKIDSECRETVALUE', secretAccessKey: '' } });
    expect(e.message).not.toContain('AKIDSECRETVALUE');
    expect(e.message).toContain('(hidden)');
  });

  it('fills defaults and lets options win over the environment', () => {
    const env = {
      MASSIVE_S3_ENDPOINT: 'http://127.0.0.1:9',
      MASSIVE_S3_BUCKET: 'fromenv',
      MARKET_DATA_CACHE_DIR: '/tmp/env-cache',
      MASSIVE_ACCESS_KEY_ID: 'id',
      MASSIVE_SECRET_ACCESS_KEY: 'secret',
    };
    const fromEnv = resolveOptions({}, env);
    expect(fromEnv).toMatchObject({ endpoint: 'http://127.0.0.1:9', bucket: 'fromenv', cacheDir: '/tmp/env-cache', workers: 20, interval: '1d' });
    expect(fromEnv.credentials).toEqual({ accessKeyId: 'id', secretAccessKey: 'secret' });
    const flags = resolveOptions({ endpoint: 'http://127.0.0.1:10', bucket: 'flagged', cacheDir: '/tmp/flag' }, env);
    expect(flags).toMatchObject({ endpoint: 'http://127.0.0.1:10', bucket: 'flagged', cacheDir: '/tmp/flag' });
    expect(resolveOptions({}, { XDG_CACHE_HOME: '/x' }).cacheDir).toBe('/x/preload-market-data');
    expect(resolveOptions({}, {}).endpoint).toBe('https://files.massive.com');
  });
});

describe('planJobs', () => {
  it('defaults stocks to 5y and crypto to 2y, grouped by dataset', () => {
    const plans = planJobs(['tsla', 'BTC-USD', 'AAPL', 'TSLA'], resolveOptions({ now }, {}));
    expect(plans).toHaveLength(2);
    const [stocks, crypto] = plans;
    expect(stocks).toMatchObject({ dataset: 'us_stocks_sip/day_aggs_v1', start: '2021-11-24', end: '2026-11-23', period: '5y', defaultPeriod: true });
    expect(stocks?.symbols.map((s) => s.ticker)).toEqual(['TSLA', 'AAPL']);
    expect(stocks?.job).toBe(jobId('us_stocks_sip/day_aggs_v1', '1d', ['AAPL', 'TSLA']));
    expect(crypto).toMatchObject({ dataset: 'global_crypto/day_aggs_v1', start: '2024-11-24', period: '2y' });
    expect(crypto?.symbols[0]?.ticker).toBe('X:BTC-USD');
    expect(stocks?.publishedEnd).toBe('2026-11-22');
  });

  it('reads intraday intervals from minute files, stores 1m, and defaults to a month', () => {
    const [plan] = planJobs(['TSLA'], resolveOptions({ now, interval: '5m', session: 'regular' }, {}));
    expect(plan).toMatchObject({
      dataset: 'us_stocks_sip/minute_aggs_v1',
      interval: '1m',
      barInterval: '5m',
      session: 'regular',
      start: '2026-10-24',
      job: jobId('us_stocks_sip/minute_aggs_v1', '1m', ['TSLA']),
    });
  });

  it('uses an explicit window as given', () => {
    const [plan] = planJobs(['TSLA'], resolveOptions({ now, start: '2024-01-01', end: '2024-03-31' }, {}));
    expect(plan).toMatchObject({ start: '2024-01-01', end: '2024-03-31', defaultPeriod: false, publishedEnd: '2024-03-31' });
  });

  it.each([
    ['1mo', '2026-10-24'],
    ['ytd', '2026-01-01'],
    ['10y', '2016-11-24'],
    ['max', undefined],
  ] as const)('period %s ending 2026-11-23 starts %s', (period, start) => {
    expect(periodStart(period, '2026-11-23')).toBe(start);
  });

  it.each(['../etc', 'TSLA;DROP', '', 'A'.repeat(200), 'TS LA', '/abs', 'X:'])('rejects the symbol %j', (bad) => {
    expect(() => planJobs([bad], resolveOptions({ now }, {}))).toThrow(InvalidOptionError);
  });

  it('requires a symbol', () => {
    expect(() => planJobs([], resolveOptions({ now }, {}))).toThrow(/at least one symbol/);
  });
});
