import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { resolveOptions } from '../src/options.js';
import { jobId, periodStart, planJobs } from '../src/plan.js';

const now = new Date('2026-11-23T18:00:00Z');

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
