/**
 * The CPU a cold TSLA run cannot avoid, from per-file costs measured in this process on the
 * benchmark's own files: MD5 of every byte, inflate up to just past TSLA (with the tool's 2%
 * margin), and the scan for its line (from the tool's hint). Receiving the bytes is the floor
 * client's whole CPU time (its process start included). Anything a cold run spends above that
 * sum is overhead: start-up, threads, messages, GC, SQLite.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseRows } from '../../src/parse/day-file.js';
import { Inflater } from '../../src/parse/inflate.js';

export interface CpuFloor {
  files: number;
  /** Per file, in ms (median of the sample's means over several passes). */
  md5Ms: number;
  inflateMs: number;
  parseMs: number;
  /** Share of the compressed bytes inflated, on average. */
  inflatedShare: number;
}

const SAMPLE = 100;
const PASSES = 5;
const MARGIN = 0.02;

/** `store` is the s3rver-layout directory; `keys` the run's files (a spread sample is timed). */
export function measureCpuFloor(store: string, bucket: string, keys: readonly string[], ticker = 'TSLA'): CpuFloor {
  const step = Math.max(1, Math.floor(keys.length / SAMPLE));
  const bodies = keys.filter((_, i) => i % step === 0).map((k) => readFileSync(path.join(store, bucket, `${k}._S3rver_object`)));
  const needle = Buffer.from(`\n${ticker},`);
  // Where the ticker's rows end (the inflate's limit) and start (the scan's hint, as the tool
  // takes it from the previous file: 90% of the offset).
  const limits: number[] = [];
  const hints: number[] = [];
  for (const b of bodies) {
    const csv = gunzipSync(b);
    const at = csv.lastIndexOf(needle);
    const share = at === -1 ? 1 : csv.indexOf(0x0a, at + 1) / csv.length;
    limits.push(Math.min(b.length, Math.ceil(b.length * (share + MARGIN))));
    hints.push(Math.floor(Math.max(0, csv.indexOf(needle)) * 0.9));
  }
  const inflater = new Inflater();
  const time = (fn: (b: Buffer, i: number) => void): number => {
    const means: number[] = [];
    for (let p = 0; p < PASSES; p++) {
      const t0 = performance.now();
      bodies.forEach(fn);
      means.push((performance.now() - t0) / bodies.length);
    }
    return means.sort((a, b) => a - b)[PASSES >> 1] ?? 0;
  };
  const md5Ms = time((b) => void createHash('md5').update(b).digest('hex'));
  const inflateMs = time((b, i) => void inflater.inflate([b], limits[i]));
  const parseMs = time((b, i) => void parseRows(inflater.inflate([b], limits[i]), [ticker], undefined, hints[i])) - inflateMs;
  const inflatedShare = limits.reduce((s, l, i) => s + l / (bodies[i]?.length ?? 1), 0) / limits.length;
  return { files: keys.length, md5Ms, inflateMs, parseMs: Math.max(0, parseMs), inflatedShare };
}
