import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listRaw, rawPath, readRaw, writeRaw } from '../src/cache/raw.js';

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
    const { files, emptyMonths } = await listRaw(join(dir), DATASET, '2024-01-01', '2024-03-31');
    expect(files.map((f) => [f.day, f.size, f.etag])).toEqual([
      ['2024-01-02', 1, file('2024-01-02', a).etag],
      ['2024-03-04', 2, file('2024-03-04', b).etag],
    ]);
    expect(emptyMonths).toEqual(['2024-02']);
  });
});
