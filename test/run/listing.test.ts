import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobPlan } from '../../src/plan.js';
import { Jobs } from '../../src/run/jobs.js';
import { Listing, recordedEtags } from '../../src/run/listing.js';
import { RunStats } from '../../src/run/stats.js';
import type { ListObjects } from '../../src/s3/list-objects.js';
import type { DoneKey, JobSpec } from '../../src/store/types.js';
import type { DayFile } from '../../src/types.js';
import { dayFile, FakeStore, plans } from '../fixtures/run-fakes.js';

const DATASET = 'us_stocks_sip/day_aggs_v1';
const done = (file: DayFile, etag = file.etag): DoneKey => ({ key: file.key, size: file.size, etag, lastModified: undefined });

describe('recordedEtags', () => {
  const file = dayFile('2026-01-05', 'new');
  it.each<[string, Map<string, DoneKey>, Array<Map<string, string>>, string[]]>([
    ['never ingested', new Map(), [new Map(), new Map()], []],
    ["the job's own record first", new Map([[file.key, done(file, 'old')]]), [new Map([['2026-01-05', 'other']])], ['old']],
    ['every symbol has the day from other jobs', new Map(), [new Map([['2026-01-05', 'a']]), new Map([['2026-01-05', 'b']])], ['a', 'b']],
    ['only some symbols have it: not ingested', new Map(), [new Map([['2026-01-05', 'a']]), new Map()], []],
  ])('%s', (_, own, ingested, expected) => {
    expect(recordedEtags(file, own, ingested)).toEqual(expected);
  });
});

/** A bucket as a ListObjects: the files' keys, listed by prefix, years as common prefixes. */
function bucket(files: DayFile[], calls: string[] = []): ListObjects {
  return (input) => {
    calls.push(input.Prefix);
    if (input.Delimiter === '/') {
      const years = [...new Set(files.map((f) => f.key.slice(0, input.Prefix.length + 5)))].sort();
      return Promise.resolve({ CommonPrefixes: years.map((Prefix) => ({ Prefix })), IsTruncated: false });
    }
    const Contents = files.filter((f) => f.key.startsWith(input.Prefix)).map((f) => ({ Key: f.key, Size: f.size, ETag: `"${f.etag}"` }));
    return Promise.resolve({ Contents, IsTruncated: false });
  };
}

function setup(jobPlans: JobPlan[], store = new FakeStore()) {
  const stats = new RunStats();
  const scheduled: Array<{ job: string; days: string[] }> = [];
  const listing = new Listing({
    jobs: new Jobs(jobPlans),
    store,
    stats,
    schedule: (spec: JobSpec, needed: DayFile[]) => {
      scheduled.push({ job: spec.job, days: needed.map((f) => f.day) });
      return Promise.resolve();
    },
  });
  return { listing, stats, scheduled, store };
}

describe('Listing', () => {
  it('sorts each listed page into skipped, republished and needed, and hands on the needed', async () => {
    const [plan] = plans(['TSLA', 'AAPL'], { start: '2026-01-01', end: '2026-02-28' });
    if (!plan) throw new Error('no plan');
    const [same, replaced, fromOthers, partly, fresh] = ['2026-01-05', '2026-01-06', '2026-01-07', '2026-02-02', '2026-02-03'].map((d) => dayFile(d));
    if (!same || !replaced || !fromOthers || !partly || !fresh) throw new Error('no files');
    const store = new FakeStore();
    store.done.set(plan.job, new Map([[same.key, done(same)], [replaced.key, done(replaced, 'before')]]));
    store.ingested.set('TSLA|1d', new Map([[fromOthers.day, fromOthers.etag], [partly.day, partly.etag]]));
    store.ingested.set('AAPL|1d', new Map([[fromOthers.day, fromOthers.etag]]));
    const t = setup([plan], store);
    await t.listing.fromBucket(bucket([same, replaced, fromOthers, partly, fresh]), 'flatfiles', new AbortController().signal);
    expect(t.stats.counts).toMatchObject({ listed: 5, skipped: 2, republished: 1 });
    // One page per month, in order; a page with nothing needed is handed on too (progress).
    expect(t.scheduled).toEqual([
      { job: plan.job, days: ['2026-01-06'] },
      { job: plan.job, days: ['2026-02-02', '2026-02-03'] },
    ]);
    expect(t.listing.starts.get(plan)).toBe('2026-01-01');
    // Only the republished file is flagged: its store compares old bars with new.
    const flagged = [same, replaced, fromOthers, partly, fresh].filter((file) => t.listing.republished({ job: plan.job, file }));
    expect(flagged.map((f) => f.day)).toEqual(['2026-01-06']);
    expect(t.listing.republished({ job: 'another job', file: replaced })).toBe(false);
  });

  it("the tail: the last listed day, or the window's end once a later file is listed (a holiday at the end is no trading day then)", async () => {
    // 2025-12-25 (a Thursday) has no file; 12-26 has one.
    const files = ['2025-12-23', '2025-12-24', '2025-12-26'].map((d) => dayFile(d));
    const tail = async (start: string, end: string): Promise<string | undefined> => {
      const [plan] = plans(['TSLA'], { start, end });
      if (!plan) throw new Error('no plan');
      const t = setup([plan]);
      await t.listing.fromBucket(bucket(files), 'flatfiles', new AbortController().signal);
      return t.listing.lastListed.get(plan);
    };
    expect(await tail('2025-12-25', '2025-12-25')).toBe('2025-12-25');
    expect(await tail('2025-12-22', '2025-12-25')).toBe('2025-12-25');
    expect(await tail('2025-12-22', '2025-12-24')).toBe('2025-12-24');
    // Nothing listed after the window: the tail is the last file's day, however far the window reaches.
    expect(await tail('2025-12-22', '2025-12-30')).toBe('2025-12-26');
    expect(await tail('2025-12-27', '2025-12-30')).toBeUndefined();
  });

  it('for period max, starts on January 1 of the first year the bucket has', async () => {
    const [plan] = plans(['TSLA'], { start: undefined, period: 'max', end: '2024-01-31' });
    if (!plan) throw new Error('no plan');
    const calls: string[] = [];
    const t = setup([plan]);
    await t.listing.fromBucket(bucket([dayFile('2023-03-01'), dayFile('2024-01-02')], calls), 'flatfiles', new AbortController().signal);
    expect(t.listing.starts.get(plan)).toBe('2023-01-01');
    expect(calls[0]).toBe(`${DATASET}/`);
    expect(t.stats.counts.listed).toBe(2);
  });

  it('an empty dataset under period max lists nothing and records no start', async () => {
    const [plan] = plans(['TSLA'], { start: undefined, period: 'max' });
    if (!plan) throw new Error('no plan');
    const t = setup([plan]);
    await t.listing.fromBucket(bucket([]), 'flatfiles', new AbortController().signal);
    expect(t.listing.starts.size).toBe(0);
    expect(t.scheduled).toEqual([]);
  });

  it('stops handing on pages once the signal aborts', async () => {
    const [plan] = plans(['TSLA'], { start: '2026-01-01', end: '2026-03-31' });
    if (!plan) throw new Error('no plan');
    const controller = new AbortController();
    const t = setup([plan]);
    const files = ['2026-01-05', '2026-02-02', '2026-03-02'].map((d) => dayFile(d));
    const client: ListObjects = async (input, opts) => {
      const page = await bucket(files)(input, opts);
      controller.abort(); // the first answer arrives as the run stops
      return page;
    };
    await t.listing.fromBucket(client, 'flatfiles', controller.signal).catch(() => undefined);
    expect(t.scheduled).toEqual([]);
  });

  describe('fromMirror', () => {
    let raw: string;
    beforeEach(() => {
      raw = mkdtempSync(join(tmpdir(), 'pmd-run-listing-'));
    });
    afterEach(() => rmSync(raw, { recursive: true, force: true }));

    it('lists the mirrored files and notes the months the mirror has nothing of', async () => {
      for (const f of [dayFile('2026-02-02'), dayFile('2026-02-03')]) {
        const meta = join(raw, `${f.key}.meta.json`);
        mkdirSync(dirname(meta), { recursive: true });
        writeFileSync(meta, JSON.stringify({ size: f.size, etag: f.etag }));
      }
      const [plan] = plans(['TSLA'], { start: '2026-01-01', end: '2026-03-31' });
      if (!plan) throw new Error('no plan');
      const t = setup([plan]);
      await t.listing.fromMirror(raw);
      expect(t.scheduled).toEqual([{ job: plan.job, days: ['2026-02-02', '2026-02-03'] }]);
      expect(t.stats.counts.listed).toBe(2);
      expect(t.stats.notes).toEqual([
        `offline: 2 month(s) of ${DATASET} in the window have no mirrored files (2026-01, 2026-03); run without --offline to fetch them`,
      ]);
      expect(t.listing.starts.get(plan)).toBe('2026-01-01');
    });
  });
});
