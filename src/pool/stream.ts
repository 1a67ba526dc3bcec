// The streaming download for large files (minute aggregates, tens of MB): the body is never held
// whole. GET -> byte count and MD5 -> gunzip -> RowFilter, with the raw mirror written alongside.
// A body cut halfway resumes with a Range request from the last byte received.
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import type { RawWriter } from '../cache/raw.js';
import { BodyCheck, isPlainMd5 } from '../integrity/verify.js';
import { ParseError, RowFilter, type ExtractResult } from '../parse/day-file.js';
import type { GetObject } from '../s3/get.js';
import type { DownloadTask } from './messages.js';
import { rawMirror } from './raw-mirror.js';

export interface StreamResult extends ExtractResult {
  bytes: number;
  /** Range requests made to resume a body cut halfway. */
  resumes: number;
}

/** One attempt: resumes by Range within itself; a length or MD5 mismatch at the end throws (a full retry). */
export async function streamAttempt(get: GetObject, task: DownloadTask, stop?: AbortSignal): Promise<StreamResult> {
  const check = new BodyCheck(task.key, task);
  const checkMd5 = isPlainMd5(task.etag);
  const filter = new RowFilter(task.tickers);
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  let gunzipError: unknown;
  gunzip.on('data', (chunk: Buffer) => {
    if (!filter.done) filter.push(chunk);
  });
  gunzip.on('error', (e) => (gunzipError = e));
  // Inflate only as far as the wanted tickers, when the MD5 still vouches for the whole body.
  let inflating = true;
  const raw: RawWriter | undefined = task.rawDir === undefined ? undefined : await (await rawMirror()).createRawWriter(task.rawDir, task);
  let resumes = 0;
  try {
    for (;;) {
      const idle = new AbortController();
      let timer = setTimeout(() => idle.abort(), task.requestTimeoutMs);
      try {
        const from = check.received;
        const res = await get(task.key, { ...(from > 0 ? { range: `bytes=${from}-` } : {}), signal: stop ? AbortSignal.any([idle.signal, stop]) : idle.signal });
        if (from > 0 && res.status !== 206) throw new Error('the server ignored the Range request');
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          // A stall is measured between chunks, not over the whole (long) body.
          clearTimeout(timer);
          timer = setTimeout(() => idle.abort(), task.requestTimeoutMs);
          check.update(chunk);
          await raw?.write(chunk);
          if (inflating && !gunzip.write(chunk)) await once(gunzip, 'drain');
          if (gunzipError !== undefined) throw new ParseError(`not a valid gzip file (${(gunzipError as Error).message})`);
          if (inflating && filter.done && checkMd5) {
            inflating = false;
            gunzip.destroy();
          }
        }
        break;
      } catch (error) {
        // Resume after a cut only: a refusal, a parse error or a finished body goes to the caller.
        const cut = !stop?.aborted && check.received > 0 && check.received < task.size && !(error instanceof ParseError) && resumes < task.retries;
        if (!cut) throw error;
        resumes += 1;
      } finally {
        clearTimeout(timer);
      }
    }
    check.finish();
    if (inflating) {
      gunzip.end();
      await once(gunzip, 'end').catch((e: unknown) => {
        throw new ParseError(`not a valid gzip file (${(e as Error).message})`);
      });
      if (gunzipError !== undefined) throw new ParseError(`not a valid gzip file (${(gunzipError as Error).message})`);
    }
    await raw?.commit();
    return { ...filter.finish(task.day), bytes: check.received, resumes };
  } catch (error) {
    await raw?.abort();
    gunzip.destroy();
    throw error;
  }
}
