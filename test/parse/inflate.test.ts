import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ChunkInflater, Inflater } from '../../src/parse/inflate.js';

// ~1.9 MB of text: more than the inflater's first output buffer, so it must grow.
const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `T${String(i).padStart(6, '0')},${i},1.5,2.5,3,1\n`).join(''));
const gz = gzipSync(text);
const split = (b: Uint8Array, size: number): Uint8Array[] => Array.from({ length: Math.ceil(b.byteLength / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));

describe('Inflater', () => {
  it.each([1, 1000, 65_536, gz.length])('inflates a body whole, whatever its chunks (%i bytes)', (size) => {
    expect(new Inflater().inflate(split(gz, size)).equals(text)).toBe(true);
  });

  it('inflates a prefix of the compressed bytes as gunzipSync does with a sync flush', () => {
    const inflater = new Inflater();
    for (const limit of [100, 12_345, Math.floor(gz.length / 2), gz.length]) {
      const expected = gunzipSync(gz.subarray(0, limit), { finishFlush: constants.Z_SYNC_FLUSH });
      expect(inflater.inflate(split(gz, 4096), limit).equals(expected)).toBe(true);
    }
  });

  it('reuses its handle file after file, and recovers after a corrupt body', () => {
    const inflater = new Inflater();
    const other = Buffer.from('ticker,open\nTSLA,1\n');
    expect(inflater.inflate([gz]).equals(text)).toBe(true);
    expect(inflater.inflate([gzipSync(other)]).equals(other)).toBe(true);
    expect(() => inflater.inflate([Buffer.from('not gzip at all')])).toThrow(/incorrect header check/);
    expect(inflater.inflate([gz]).equals(text)).toBe(true);
  });

  it('checks the trailer of a whole body: a flipped CRC byte or a cut body throws', () => {
    const inflater = new Inflater();
    const bad = Buffer.from(gz);
    bad[bad.length - 6] = (bad[bad.length - 6] ?? 0) ^ 1;
    expect(() => inflater.inflate([bad])).toThrow(/incorrect data check/);
    expect(() => inflater.inflate([gz.subarray(0, gz.length - 100)])).toThrow(/unexpected end of file/);
  });

  it('reads gzip files of several members to the end, as gunzipSync does', () => {
    const two = Buffer.concat([gzipSync(Buffer.from('a,1\n')), gzipSync(Buffer.from('b,2\n'))]);
    expect(new Inflater().inflate(split(two, 7)).toString()).toBe('a,1\nb,2\n');
  });
});

describe('ChunkInflater', () => {
  const run = (chunks: Uint8Array[]): Buffer => {
    const inflater = ChunkInflater.create();
    if (!inflater) throw new Error('no native zlib handle');
    const out: Buffer[] = [];
    // Each piece is a view of a reused buffer: copied, as RowFilter does.
    const keep = (b: Buffer): void => void out.push(Buffer.from(b));
    for (const c of chunks) inflater.write(c, keep);
    inflater.end(keep);
    inflater.close();
    return Buffer.concat(out);
  };

  it.each([1, 1000, 65_536, gz.length])('inflates a body chunk by chunk, whatever its chunks (%i bytes)', (size) => {
    expect(run(split(gz, size)).equals(text)).toBe(true);
  });

  it('throws on a body cut short, a flipped CRC byte, and bytes that are not gzip', () => {
    expect(() => run([gz.subarray(0, gz.length - 10)])).toThrow(/unexpected end of file/);
    const flipped = Buffer.from(gz);
    flipped[flipped.length - 6] = (flipped[flipped.length - 6] ?? 0) ^ 0xff;
    expect(() => run(split(flipped, 4096))).toThrow();
    expect(() => run([Buffer.from('not gzip at all')])).toThrow(/incorrect header check/);
  });

  it('two bodies interleaved on one thread stay apart (each has its own handle)', () => {
    const a = ChunkInflater.create();
    const b = ChunkInflater.create();
    if (!a || !b) throw new Error('no native zlib handle');
    const other = Buffer.from('ticker,open\nAAPL,2\n'.repeat(5000));
    const outA: Buffer[] = [];
    const outB: Buffer[] = [];
    const ca = split(gz, 5000);
    const cb = split(gzipSync(other), 700);
    for (let i = 0; i < Math.max(ca.length, cb.length); i++) {
      const x = ca[i];
      const y = cb[i];
      if (x) a.write(x, (o) => void outA.push(Buffer.from(o)));
      if (y) b.write(y, (o) => void outB.push(Buffer.from(o)));
    }
    a.end((o) => void outA.push(Buffer.from(o)));
    b.end((o) => void outB.push(Buffer.from(o)));
    expect(Buffer.concat(outA).equals(text)).toBe(true);
    expect(Buffer.concat(outB).equals(other)).toBe(true);
  });
});
