import { ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotEntitledError, PreloadError } from '../../src/errors.js';
import { dayOfKey, findFirstDay, listDayFiles } from '../../src/s3/list.js';
import type { DayFile } from '../../src/types.js';
import type { ListObjects } from '../../src/s3/list-objects.js';

const DATASET = 'us_stocks_sip/day_aggs_v1';
const s3 = mockClient(S3Client);
/** The listing takes any ListObjectsV2 function: here the SDK's, answered by aws-sdk-client-mock. */
const sdk = (): ListObjects => {
  const client = new S3Client({ region: 'us-east-1' });
  return (input, o) => client.send(new ListObjectsV2Command(input), { abortSignal: o?.abortSignal });
};
afterEach(() => s3.reset());

const obj = (day: string, size = 100) => ({
  Key: `${DATASET}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`,
  Size: size,
  ETag: '"0123456789abcdef0123456789abcdef"',
  LastModified: new Date('2024-01-03T16:00:00Z'),
});

async function collect(start: string, end: string): Promise<DayFile[]> {
  const all: DayFile[] = [];
  for await (const batch of listDayFiles(sdk(), { dataset: DATASET, bucket: 'flatfiles', start, end })) {
    all.push(...batch);
  }
  return all.sort((a, b) => a.key.localeCompare(b.key));
}

describe('dayOfKey', () => {
  it.each([
    [`${DATASET}/2024/01/2024-01-02.csv.gz`, '2024-01-02'],
    [`${DATASET}/2024/02/2024-01-02.csv.gz`, undefined],
    [`${DATASET}/2024/01/../../../x.csv.gz`, undefined],
    [`${DATASET}/../../etc/passwd`, undefined],
    ['/etc/passwd', undefined],
    [`${DATASET}/2024/01/2024-01-02.csv.gz.tmp`, undefined],
    [`other/2024/01/2024-01-02.csv.gz`, undefined],
  ])('%s -> %s', (key, day) => {
    expect(dayOfKey(DATASET, key)).toBe(day);
  });
});

describe('listDayFiles', () => {
  it("says when the end's month lists a file after the window, and only then", async () => {
    s3.on(ListObjectsV2Command, { Prefix: `${DATASET}/2025/12/` }).resolves({ Contents: [obj('2025-12-24'), obj('2025-12-26')] });
    const later = async (end: string): Promise<boolean> => {
      let seen = false;
      for await (const _ of listDayFiles(sdk(), { dataset: DATASET, bucket: 'flatfiles', start: '2025-12-22', end, onLaterFile: () => (seen = true) })) void _;
      return seen;
    };
    expect(await later('2025-12-25')).toBe(true);
    expect(await later('2025-12-26')).toBe(false);
    expect(await later('2025-12-31')).toBe(false);
  });

  it('lists one prefix per month, follows pagination, and keeps size, ETag and date', async () => {
    s3.on(ListObjectsV2Command, { Prefix: `${DATASET}/2024/01/` })
      .resolves({ Contents: [obj('2024-01-02', 10), obj('2024-01-03')], IsTruncated: true, NextContinuationToken: 't1' })
      .on(ListObjectsV2Command, { Prefix: `${DATASET}/2024/01/`, ContinuationToken: 't1' })
      .resolves({ Contents: [obj('2024-01-31')], IsTruncated: false })
      .on(ListObjectsV2Command, { Prefix: `${DATASET}/2024/02/` })
      .resolves({ Contents: [obj('2024-02-01'), obj('2024-02-02')] });
    const files = await collect('2024-01-03', '2024-02-01');
    expect(files.map((f) => f.day)).toEqual(['2024-01-03', '2024-01-31', '2024-02-01']);
    expect(files[0]).toEqual({
      key: `${DATASET}/2024/01/2024-01-03.csv.gz`,
      day: '2024-01-03',
      size: 100,
      etag: '0123456789abcdef0123456789abcdef',
      lastModified: '2024-01-03T16:00:00.000Z',
    });
    const prefixes = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix);
    expect(new Set(prefixes)).toEqual(new Set([`${DATASET}/2024/01/`, `${DATASET}/2024/02/`]));
  });

  it('fails the month with ERR_LIST naming the prefix when a truncated page has no continuation token', async () => {
    s3.on(ListObjectsV2Command, { Prefix: `${DATASET}/2024/01/` })
      .resolves({ Contents: [obj('2024-01-02')], IsTruncated: true })
      .on(ListObjectsV2Command, { Prefix: `${DATASET}/2024/02/` })
      .resolves({ Contents: [obj('2024-02-01')] });
    const error = await collect('2024-01-01', '2024-02-29').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreloadError);
    expect(error).toMatchObject({ code: 'ERR_LIST' });
    expect((error as Error).message).toContain(`${DATASET}/2024/01/`);
    expect((error as Error).message).toMatch(/IsTruncated.*no continuation token/);
  });

  it('ignores keys that are not day files of the dataset, such as ../ paths', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [obj('2024-01-02'), { Key: `${DATASET}/2024/01/../../../../x`, Size: 1 }, { Key: '/abs/path', Size: 1 }],
    });
    expect((await collect('2024-01-01', '2024-01-31')).map((f) => f.day)).toEqual(['2024-01-02']);
  });

  it('turns a 403 into NotEntitledError naming the dataset', async () => {
    s3.on(ListObjectsV2Command).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }),
    );
    const error = await collect('2024-01-01', '2024-01-31').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotEntitledError);
    expect((error as NotEntitledError).message).toContain(`not entitled to ${DATASET}?`);
  });

  it('finds the first year of a dataset for period max', async () => {
    s3.on(ListObjectsV2Command, { Prefix: `${DATASET}/`, Delimiter: '/' }).resolves({
      CommonPrefixes: [{ Prefix: `${DATASET}/2005/` }, { Prefix: `${DATASET}/2003/` }, { Prefix: `${DATASET}/junk/` }],
    });
    expect(await findFirstDay(sdk(), { dataset: DATASET, bucket: 'flatfiles' })).toBe('2003-01-01');
  });
});

describe('listDayFiles stopped in the middle of a long listing', () => {
  const accessDenied = () =>
    new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' });
  const monthOf = (prefix: string | undefined): number => Number(prefix?.slice(-3, -1));

  /** Every month after January answers 403 a little later; counts the requests still unanswered. */
  function mockSlowRefusals(): { inFlight: () => number } {
    let inFlight = 0;
    s3.on(ListObjectsV2Command).callsFake(async (input: { Prefix?: string }) => {
      if (monthOf(input.Prefix) === 1) return { Contents: [obj('2024-01-02')] };
      inFlight += 1;
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw accessDenied();
      } finally {
        inFlight -= 1;
      }
    });
    return { inFlight: () => inFlight };
  }

  let unhandled: unknown[];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => void process.off('unhandledRejection', onUnhandled));
  // Long enough for every mocked month to have answered, had the generator left one behind.
  const afterTheLastAnswer = () => new Promise((resolve) => setTimeout(resolve, 100));

  it('a consumer that stops after the first month leaves no request running and no rejection unhandled', async () => {
    const { inFlight } = mockSlowRefusals();
    const controller = new AbortController();
    const listing = listDayFiles(sdk(), {
      dataset: DATASET,
      bucket: 'flatfiles',
      start: '2024-01-01',
      end: '2024-12-31',
      signal: controller.signal,
    });
    for await (const files of listing) {
      expect(files.map((f) => f.day)).toEqual(['2024-01-02']);
      controller.abort(); // as preload does on Ctrl+C, then stops reading
      break;
    }
    expect(inFlight()).toBe(0);
    await afterTheLastAnswer();
    expect(unhandled).toEqual([]);
  });

  it('a 403 in the middle rejects with NotEntitledError once every other month has settled', async () => {
    const { inFlight } = mockSlowRefusals();
    const seen: string[] = [];
    const error = await (async () => {
      for await (const files of listDayFiles(sdk(), { dataset: DATASET, bucket: 'flatfiles', start: '2024-01-01', end: '2024-12-31' })) {
        seen.push(...files.map((f) => f.day));
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotEntitledError);
    expect(seen).toEqual(['2024-01-02']);
    expect(inFlight()).toBe(0);
    await afterTheLastAnswer();
    expect(unhandled).toEqual([]);
  });
});
