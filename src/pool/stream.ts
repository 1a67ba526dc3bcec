// The streaming path for large files (minute aggregates, tens to hundreds of MB): the body is
// never held whole. Bytes -> byte count and MD5 -> gunzip -> RowFilter, from a GET (with the raw
// mirror written alongside; a body cut halfway resumes with a Range request from the last byte
// received) or from a copy in the raw mirror.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { createRawWriter, rawPath, repairMeta, type RawWriter } from '../raw/mirror.js';
import { BodyCheck, isPlainMd5 } from '../integrity/verify.js';
import { AllRowsParser } from '../parse/all-rows.js';
import { fileKind, type FileKind } from '../parse/calendar.js';
import { ParseError, RowFilter, type ExtractResult } from '../parse/day-file.js';
import { ChunkInflater } from '../parse/inflate.js';
import type { GetObject } from '../s3/get.js';
import type { DownloadTask } from './messages.js';
import type { RowStream } from './row-stream.js';

export interface StreamResult extends ExtractResult {
  bytes: number;
  /** `--all`: rows sent over the task's port. */
  rowCount?: number | undefined;
}

/** Rows sent to the store per message (`--all`): ~3 MB of columns, a few ms of SQLite each. */
const CHUNK_ROWS = 50_000;

/** Where a body's inflated bytes go: the wanted tickers' lines, or (`--all`) every row, chunk by chunk. */
interface RowsTarget {
  push(out: Buffer): void;
  /** Past every wanted row: inflating may stop (never for `--all`). */
  readonly done: boolean;
  /** Waits while the store is behind (`--all`). */
  drained?(): Promise<void>;
  finish(day?: string, kind?: FileKind): ExtractResult & { rowCount?: number };
}

/** Every row, to the main thread over the task's port as chunks fill. */
class AllRowsTarget implements RowsTarget {
  readonly done = false;
  readonly #parser: AllRowsParser;
  readonly #stream: RowStream;

  constructor(task: DownloadTask, stream: RowStream) {
    this.#stream = stream;
    // Rows of an earlier attempt of this body are void: the store forgets them.
    stream.start();
    this.#parser = new AllRowsParser({ day: task.day, kind: fileKind(task.key), chunkRows: CHUNK_ROWS, onChunk: (c) => stream.send(c) });
  }

  push(out: Buffer): void {
    this.#parser.push(out);
  }

  drained(): Promise<void> {
    return this.#stream.drained();
  }

  finish(): ExtractResult & { rowCount: number } {
    const { columns, counts } = this.#parser.finish();
    this.#stream.send(columns);
    const { rows, misdated, outsideSession, duplicateConflicts } = counts;
    return { rows: [], malformed: counts.malformed, duplicates: counts.duplicates, duplicateConflicts, rowCount: rows, misdated, outsideSession };
  }
}

function rowsTarget(task: DownloadTask, stream: RowStream | undefined): RowsTarget {
  if (task.all === true) {
    if (!stream) throw new Error('an --all task streams its rows over a port');
    return new AllRowsTarget(task, stream);
  }
  return new RowFilter(task.tickers);
}

/**
 * One body as it arrives, in order: checked against the listing, inflated and filtered, and
 * inflated only as far as the wanted tickers when the MD5 still vouches for the whole body.
 * Inflating is synchronous, chunk by chunk, on a zlib handle of the body's own (ChunkInflater);
 * a zlib stream only if Node ever drops that handle.
 */
class BodySink {
  readonly check: BodyCheck;
  readonly #task: DownloadTask;
  readonly #checkMd5: boolean;
  readonly #filter: RowsTarget;
  readonly #push: (out: Buffer) => void;
  readonly #sync = ChunkInflater.create();
  readonly #gunzip = this.#sync ? undefined : createGunzip({ chunkSize: 256 * 1024 });
  #gunzipError: unknown;
  #inflating = true;

  constructor(task: DownloadTask, stream?: RowStream) {
    this.#task = task;
    this.check = new BodyCheck(task.key, task);
    this.#checkMd5 = isPlainMd5(task.etag);
    const filter = rowsTarget(task, stream);
    this.#filter = filter;
    this.#push = (out) => {
      if (!filter.done) filter.push(out);
    };
    this.#gunzip?.on('data', this.#push);
    this.#gunzip?.on('error', (e) => (this.#gunzipError = e));
  }

  async write(chunk: Buffer): Promise<void> {
    this.check.update(chunk);
    if (this.#inflating) {
      if (this.#sync) this.#inflateSync(() => this.#sync?.write(chunk, this.#push));
      // A gunzip that failed on an earlier chunk is destroyed and never drains: it must not be awaited.
      else if (this.#gunzip && !this.#gunzip.write(chunk) && !this.#gunzip.destroyed) await once(this.#gunzip, 'drain');
    }
    this.#throwIfBadGzip();
    await this.#filter.drained?.();
    if (this.#inflating && this.#filter.done && this.#checkMd5) {
      this.#inflating = false;
      this.destroy();
    }
  }

  /** Throws IntegrityError or ParseError when the whole body is not what the listing says. */
  async finish(): Promise<ExtractResult & { rowCount?: number }> {
    this.check.finish();
    if (this.#inflating) {
      this.#throwIfBadGzip();
      if (this.#sync) {
        this.#inflateSync(() => this.#sync?.end(this.#push));
        this.#sync.close();
      } else if (this.#gunzip) {
        this.#gunzip.end();
        // finished() also settles for a stream that already ended or failed, where 'end' never comes.
        await finished(this.#gunzip).catch((e: unknown) => {
          throw new ParseError(`not a valid gzip file (${(e as Error).message})`);
        });
      }
    }
    return this.#filter.finish(this.#task.day, fileKind(this.#task.key));
  }

  destroy(): void {
    this.#sync?.close();
    this.#gunzip?.destroy();
  }

  #inflateSync(step: () => void): void {
    try {
      step();
    } catch (e) {
      throw new ParseError(`not a valid gzip file (${(e as Error).message})`);
    }
  }

  #throwIfBadGzip(): void {
    if (this.#gunzipError !== undefined) throw new ParseError(`not a valid gzip file (${(this.#gunzipError as Error).message})`);
  }
}

/** What a streamed body keeps between attempts: the bytes checked and inflated so far, and its raw copy. */
interface PartialBody {
  sink: BodySink;
  raw: RawWriter | undefined;
}

/**
 * One large file across the attempts of the caller's retry loop: each `attempt()` is one request.
 * A body cut halfway keeps what arrived, and the next attempt asks for the rest with a Range
 * request; anything else (a refusal, a body that fails its check, a server that ignores the
 * Range) starts the body over. Resumes are retries like any other, so they share the file's
 * retry budget and its backoff: at most `retries + 1` requests per file.
 */
export class StreamDownload {
  readonly #get: GetObject;
  readonly #task: DownloadTask;
  readonly #stop: AbortSignal | undefined;
  readonly #rows: RowStream | undefined;
  #partial: PartialBody | undefined;

  constructor(get: GetObject, task: DownloadTask, stop?: AbortSignal, rows?: RowStream) {
    this.#get = get;
    this.#task = task;
    this.#stop = stop;
    this.#rows = rows;
  }

  /** One request: resolves once the whole body is in and verified; rejects so the caller retries (or gives up and calls `abort()`). */
  async attempt(): Promise<StreamResult> {
    const task = this.#task;
    this.#partial ??= { sink: new BodySink(task, this.#rows), raw: task.rawDir === undefined ? undefined : await createRawWriter(task.rawDir, task) };
    const { sink, raw } = this.#partial;
    const { check } = sink;
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(), task.requestTimeoutMs);
    try {
      const from = check.received;
      const signal = this.#stop ? AbortSignal.any([idle.signal, this.#stop]) : idle.signal;
      const res = await this.#get(task.key, { ...(from > 0 ? { range: `bytes=${from}-` } : {}), signal });
      if (from > 0 && res.status !== 206) {
        res.body.destroy();
        await this.abort(); // the next attempt asks for the whole body
        throw new Error('the server ignored the Range request');
      }
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        // A stall is measured while waiting for the server's next chunk, not over the whole (long)
        // body, nor while the store holds this body back (--all: a writer busy with other files).
        clearTimeout(timer);
        await raw?.write(chunk);
        await sink.write(chunk);
        timer = setTimeout(() => idle.abort(), task.requestTimeoutMs);
      }
    } catch (error) {
      // Only a cut keeps what arrived: a refusal before any byte, a parse error or a stop start over.
      const cut = !this.#stop?.aborted && check.received > 0 && check.received < task.size && !(error instanceof ParseError);
      if (!cut) await this.abort();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    try {
      const rows = await sink.finish();
      await raw?.commit();
      this.#partial = undefined;
      return { ...rows, bytes: check.received };
    } catch (error) {
      // A length or MD5 mismatch, or bad gzip: the next attempt downloads the whole body again.
      await this.abort();
      throw error;
    }
  }

  /** Drops the partial body and its raw copy; a no-op once an attempt has completed. */
  async abort(): Promise<void> {
    const partial = this.#partial;
    this.#partial = undefined;
    if (!partial) return;
    partial.sink.destroy();
    await partial.raw?.abort();
  }
}

/**
 * A large file from the raw mirror, streamed like a download (flat memory whatever its size).
 * Undefined when the mirror has no copy, or its copy fails the check against the listing
 * (length, MD5, gzip): the caller downloads the file again, which replaces the copy.
 */
export async function streamFromMirror(rawDir: string, task: DownloadTask, stop?: AbortSignal, rows?: RowStream): Promise<StreamResult | undefined> {
  const sink = new BodySink(task, rows);
  const file = createReadStream(rawPath(rawDir, task.key), { highWaterMark: 256 * 1024, ...(stop ? { signal: stop } : {}) });
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) await sink.write(chunk);
    const result = { ...(await sink.finish()), bytes: sink.check.received };
    // The body checked out against the listing: a torn or missing meta file is written again.
    await repairMeta(rawDir, task);
    return result;
  } catch (error) {
    sink.destroy();
    if (stop?.aborted) throw error;
    return undefined; // absent, stale or damaged: download it again
  } finally {
    file.destroy();
  }
}
