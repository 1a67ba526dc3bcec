import { describe, expect, it } from 'vitest';
import { jobSpec, Jobs } from '../../src/run/jobs.js';
import { plans } from '../fixtures/run-fakes.js';

describe('Jobs', () => {
  it('knows each plan by its job id, with the spec the store registers', () => {
    const all = plans(['TSLA', 'AAPL', 'BTC-USD']);
    const jobs = new Jobs(all);
    expect(jobs.plans).toBe(all);
    for (const plan of all) {
      expect(jobs.get(plan.job).plan).toBe(plan);
      expect(jobs.get(plan.job).spec).toEqual(jobSpec(plan));
    }
    expect(jobs.specs().map((s) => s.job)).toEqual(all.map((p) => p.job));
    expect(jobSpec(all[0] ?? (undefined as never))).toEqual({ job: all[0]?.job, dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d', tickers: ['TSLA', 'AAPL'], all: false });
  });

  it('an id that is not one of the run\'s jobs is a RangeError', () => {
    expect(() => new Jobs(plans()).get('nope')).toThrow(new RangeError('unknown job nope'));
  });
});
