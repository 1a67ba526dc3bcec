import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listRaw, rawPath, readRaw, writeRaw } from '../../src/raw/mirror.js';

const DATASET = 'us_stocks_sip/day_aggs_v1';
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmd-raw-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (day: string, body: Buffer) => ({
  key: `${DATASET}/${day.slice(0, 4)}/${day.slice(5, 7)}/${day}.csv.gz`,
  size: body.byteLength,
  etag: createHash('md5').update(body).digest('hex'),
  lastModified: '2024-01-03T16:00:00.000Z',
});

const metaPath = (key: string): string => `${join(dir, key)}.meta.json`;

describe('raw mirror', () => {
  it.each(['../../x', '/etc/passwd', `${DATASET}/../../../../outside`, '', '.'])('never maps %j outside the mirror', (key) => {
    expect(() => rawPath(dir, key)).toThrow(RangeError);
  });

  it('keeps a verified copy (no temporary file left) and serves it back only while it matches', async () => {
    const body = Buffer.from('day file bytes');
    const f = file('2024-01-02', body);
    await writeRaw(dir, f, body);
    expect(await readRaw(dir, f)).toEqual(body);
    expect(await readRaw(dir, { ...f, etag: '0'.repeat(32) })).toBeUndefined();
    expect(await readRaw(dir, { ...f, size: f.size + 1 })).toBeUndefined();
    expect(readdirSync(join(dir, DATASET, '2024', '01')).sort()).toEqual(['2024-01-02.csv.gz', '2024-01-02.csv.gz.meta.json']);
  });

  it('lists a window from the mirror, naming months with nothing mirrored', async () => {
    const a = Buffer.from('a');
    const b = Buffer.from('bb');
    await writeRaw(dir, file('2024-01-02', a), a);
    await writeRaw(dir, file('2024-03-04', b), b);
    const { files, emptyMonths, unreadable } = await listRaw(join(dir), DATASET, '2024-01-01', '2024-03-31');
    expect(files.map((f) => [f.day, f.size, f.etag])).toEqual([
      ['2024-01-02', 1, file('2024-01-02', a).etag],
      ['2024-03-04', 2, file('2024-03-04', b).etag],
    ]);
    expect(emptyMonths).toEqual(['2024-02']);
    expect(unreadable).toEqual([]);
  });

  it('replaces a meta file by renaming a complete one over it, never by rewriting it in place', async () => {
    const body = Buffer.from('day file bytes');
    const f = file('2024-01-02', body);
    // A second link to the old meta file: a write in place would change what it holds too.
    mkdirSync(join(dir, DATASET, '2024', '01'), { recursive: true });
    writeFileSync(metaPath(f.key), '{"old":true}');
    const witness = join(dir, 'witness');
    linkSync(metaPath(f.key), witness);
    await writeRaw(dir, f, body);
    expect(readFileSync(witness, 'utf8')).toBe('{"old":true}');
    expect(JSON.parse(readFileSync(metaPath(f.key), 'utf8'))).toEqual({ size: f.size, etag: f.etag, lastModified: f.lastModified });
  });

  it.each([
    ['cut short', '{"size":14,"etag":"ab'],
    ['left empty', ''],
    ['holding null', 'null'],
    ['whose size is a string', '{"size":"14","etag":"abc"}'],
    ['with no ETag', '{"size":14}'],
    ['whose date is a number', '{"size":14,"etag":"abc","lastModified":5}'],
  ])('treats a meta file %s as absent: listed as unreadable, never a crash', async (_name, text) => {
    const a = Buffer.from('day file bytes');
    const b = Buffer.from('another day');
    const good = file('2024-01-02', a);
    const bad = file('2024-01-03', b);
    await writeRaw(dir, good, a);
    await writeRaw(dir, bad, b);
    writeFileSync(metaPath(bad.key), text);
    const { files, emptyMonths, unreadable } = await listRaw(dir, DATASET, '2024-01-01', '2024-01-31');
    expect(files.map((f) => f.key)).toEqual([good.key]);
    expect(unreadable).toEqual([bad.key]);
    expect(emptyMonths).toEqual([]);
  });

  it.each([
    ['torn', (key: string) => writeFileSync(metaPath(key), '{"size":')],
    ['missing (a crash between the body and its meta file)', (key: string) => rmSync(metaPath(key))],
  ])('rewrites a %s meta file when an online run finds the body still verified, so --offline sees the day again', async (_name, damage) => {
    const body = Buffer.from('day file bytes');
    const f = file('2024-01-02', body);
    await writeRaw(dir, f, body);
    damage(f.key);
    expect((await listRaw(dir, DATASET, '2024-01-01', '2024-01-31')).files).toEqual([]);
    // What a worker does online: the listing's size and ETag, checked against the mirrored body.
    expect(await readRaw(dir, f)).toEqual(body);
    const { files, unreadable } = await listRaw(dir, DATASET, '2024-01-01', '2024-01-31');
    expect(files).toEqual([{ key: f.key, day: '2024-01-02', size: f.size, etag: f.etag, lastModified: f.lastModified }]);
    expect(unreadable).toEqual([]);
  });

  it('sweeps temporary files a crash left, once they are an hour old, and nothing else', async () => {
    const month = join(dir, DATASET, '2024', '01');
    mkdirSync(month, { recursive: true });
    const names = {
      oldBody: '2024-01-05.csv.gz.0123456789ab.tmp',
      oldMeta: '2024-01-05.csv.gz.meta.json.ba9876543210.tmp',
      // Another process may be writing these right now: an hour is far beyond any live write,
      // which touches its file with every chunk.
      fresh: '2024-01-08.csv.gz.aaaaaaaaaaaa.tmp',
      notOurs: 'notes.tmp',
    };
    for (const name of Object.values(names)) writeFileSync(join(month, name), 'partial');
    const old = new Date(Date.now() - 61 * 60_000);
    for (const name of [names.oldBody, names.oldMeta, names.notOurs]) utimesSync(join(month, name), old, old);

    const body = Buffer.from('day file bytes');
    await writeRaw(dir, file('2024-01-02', body), body);
    expect(readdirSync(month).sort()).toEqual([names.fresh, '2024-01-02.csv.gz', '2024-01-02.csv.gz.meta.json', names.notOurs].sort());

    // A mirror only read (--offline) is swept by its listing.
    const other = join(dir, DATASET, '2024', '02');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, names.oldBody), 'partial');
    utimesSync(join(other, names.oldBody), old, old);
    await listRaw(dir, DATASET, '2024-02-01', '2024-02-29');
    expect(existsSync(join(other, names.oldBody))).toBe(false);
  });
});
