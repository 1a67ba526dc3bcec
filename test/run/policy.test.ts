import { describe, expect, it } from 'vitest';
import { ConfigurationError, NotEntitledError, PreloadError, StoreError } from '../../src/errors.js';
import { asPreloadError, FailurePolicy, isAbort } from '../../src/run/policy.js';
import type { Failure } from '../../src/run/report.js';
import type { FailureCode } from '../../src/types.js';

const DATASET = 'us_stocks_sip/day_aggs_v1';
const failure = (code: FailureCode, key = `${DATASET}/2026/01/2026-01-05.csv.gz`): Failure => ({ key, code, message: `${code}: it went wrong` });

describe('FailurePolicy', () => {
  it.each<[FailureCode, string | undefined]>([
    ['ERR_NOT_ENTITLED', 'ERR_NOT_ENTITLED'],
    ['ERR_CREDENTIALS', 'ERR_CONFIGURATION'],
    ['ERR_NOT_FOUND', undefined],
    ['ERR_INTEGRITY', undefined],
    ['ERR_PARSE', undefined],
    ['ERR_OFFLINE', undefined],
    ['ERR_DOWNLOAD', undefined],
    ['ERR_UNREACHABLE', undefined], // one alone: the breaker has not tripped
  ])('a file failing %s stops the run with %s', (code, stopsWith) => {
    expect(new FailurePolicy('http://s3.test').failed(DATASET, failure(code))?.code).toBe(stopsWith);
  });

  it('names the dataset and the key when not entitled, and passes on the credentials message', () => {
    const policy = new FailurePolicy('http://s3.test');
    const key = `${DATASET}/2026/01/2026-01-06.csv.gz`;
    expect(policy.failed(DATASET, failure('ERR_NOT_ENTITLED', key))).toEqual(new NotEntitledError(DATASET, key));
    expect(policy.failed(DATASET, failure('ERR_CREDENTIALS'))).toEqual(new ConfigurationError('ERR_CREDENTIALS: it went wrong'));
  });

  it('trips after 3 files in a row could not connect, naming the endpoint', () => {
    const policy = new FailurePolicy('http://s3.test');
    expect(policy.failed(DATASET, failure('ERR_UNREACHABLE'))).toBeUndefined();
    expect(policy.failed(DATASET, failure('ERR_UNREACHABLE'))).toBeUndefined();
    const stop = policy.failed(DATASET, failure('ERR_UNREACHABLE'));
    expect(stop).toBeInstanceOf(PreloadError);
    expect(stop?.code).toBe('ERR_UNREACHABLE');
    expect(stop?.message).toMatch(/^Cannot reach the S3 endpoint http:\/\/s3\.test: 3 files in a row could not connect/);
  });

  it('a file that reached the server, downloaded or failed otherwise, resets the count', () => {
    const policy = new FailurePolicy('http://s3.test', 2);
    policy.failed(DATASET, failure('ERR_UNREACHABLE'));
    policy.reached();
    expect(policy.failed(DATASET, failure('ERR_UNREACHABLE'))).toBeUndefined();
    policy.failed(DATASET, failure('ERR_NOT_FOUND'));
    expect(policy.failed(DATASET, failure('ERR_UNREACHABLE'))).toBeUndefined();
    expect(policy.failed(DATASET, failure('ERR_UNREACHABLE'))?.code).toBe('ERR_UNREACHABLE');
  });
});

describe('asPreloadError', () => {
  it('keeps a PreloadError and wraps anything else as ERR_UNEXPECTED with it as the cause', () => {
    const store = new StoreError('postgres://u:***@h/db', 'lost');
    expect(asPreloadError(store)).toBe(store);
    const bug = new TypeError('x is undefined');
    const wrapped = asPreloadError(bug);
    expect(wrapped).toMatchObject({ code: 'ERR_UNEXPECTED', message: 'x is undefined', cause: bug });
    expect(asPreloadError('a string')).toMatchObject({ code: 'ERR_UNEXPECTED', message: 'a string' });
  });
});

describe('isAbort', () => {
  it('knows an AbortSignal rejection by name or code', () => {
    const signal = AbortSignal.abort();
    expect(isAbort(signal.reason)).toBe(true);
    expect(isAbort(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }))).toBe(true);
    expect(isAbort(new Error('other'))).toBe(false);
    expect(isAbort('AbortError')).toBe(false);
  });
});
