import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { optionsSchema, resolveOptions } from '../src/options.js';

const now = new Date('2026-11-23T18:00:00Z');

function invalid(input: Record<string, unknown>): InvalidOptionError {
  try {
    resolveOptions({ now, ...input }, {});
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
    [{ storeTimeoutMs: -1 }, 'storeTimeoutMs', 'Expected `storeTimeoutMs` to be an integer number of milliseconds from 0 to 3600000, got `-1` (number)'],
    [{ storeTimeoutMs: 1.5 }, 'storeTimeoutMs', 'got `1.5`'],
    [{ storeTimeoutMs: '60s' }, 'storeTimeoutMs', 'got `60s` (string)'],
  ])('rejects %j naming the option and the value', (input, option, text) => {
    const e = invalid(input);
    expect(e.code).toBe('ERR_INVALID_OPTION');
    expect(e.option).toBe(option);
    expect(e.message).toContain(text);
  });

  it('has, for every option, what it expects in the schema itself', () => {
    const missing = Object.entries(optionsSchema.shape)
      .filter(([, field]) => !field.description)
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('waits 60 s for a store that went away, unless told otherwise', () => {
    expect(resolveOptions({ now }, {}).storeTimeoutMs).toBe(60_000);
    expect(resolveOptions({ now, storeTimeoutMs: 0 }, {}).storeTimeoutMs).toBe(0);
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
