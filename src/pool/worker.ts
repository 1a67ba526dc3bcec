// Runs inside a Piscina worker thread: download one day file, verify it, extract the rows.
import { setMaxListeners } from 'node:events';
import { workerData } from 'node:worker_threads';
import { readRaw, writeRaw } from '../raw/mirror.js';
import { FinalError, parseRetryAfter, retry } from '../retry.js';
import { BodyCheck, isPlainMd5 } from '../integrity/verify.js';
import { extractAll } from '../parse/all-rows.js';
import { fileKind } from '../parse/calendar.js';
import { extractTickers, ParseError } from '../parse/day-file.js';
import type { S3Config } from '../s3/client.js';
import { correctClock, shareClock } from '../s3/clock.js';
import { renewedCredentials } from '../s3/credentials.js';
import { createGetObject, requestSignal, S3HttpError, type GetObject } from '../s3/get.js';
import { acquire } from '../s3/rate-limit.js';
import { clockOff, keyPairRefused, refusalOf, TOKEN_EXPIRED } from '../s3/refusal.js';
import type { FailureCode } from '../types.js';
import type { DownloadTask, TaskResult } from './messages.js';
import { RowStream } from './row-stream.js';
import { StreamDownload, streamFromMirror } from './stream.js';
import type { PoolData } from './pool.js';
import { lowerThreadPriority } from './priority.js';

// Piscina hands its `workerData` option to each thread as Node's own: importing it from 'piscina'
// loaded the whole pool library into every thread (~55 ms of CPU each, measured here).
// Aborted when the pool closes: in-flight requests end and their tasks settle before the thread
// is terminated (terminating a thread in the middle of its work can abort the whole process).
const stopping = watchStop((workerData as PoolData).stop);
// Every thread signs with the process's clock offset, and corrects it for all (s3/clock.ts).
shareClock((workerData as PoolData).clock);
lowerThreadPriority((workerData as PoolData).nice);

function watchStop(buffer: SharedArrayBuffer): AbortSignal {
  const controller = new AbortController();
  const flag = new Int32Array(buffer);
  // Atomics.waitAsync is in Node 20 but not yet in TypeScript's ES2023 lib.
  const { waitAsync } = Atomics as unknown as {
    waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string };
  };
  // Every download of the thread (and each of its retry waits) listens to this one signal, and
  // removes its listener when done: more than 10 at once is normal here, not a leak, and Node's
  // warning would land in the host app's stderr.
  setMaxListeners(0, controller.signal);
  const wait = waitAsync(flag, 0, 0);
  // The wait never rejects; were it to, the thread stops its downloads as for a close.
  if (wait.async) (wait.value as Promise<string>).then(() => controller.abort(), () => controller.abort());
  else controller.abort();
  return controller.signal;
}

const getters = new Map<string, GetObject>();

// One signer per thread and identity (renewing credentials: per source, each request signs with
// its newest set); the keep-alive agent in s3/get.ts reuses sockets across tasks.
function getterFor(config: S3Config): GetObject {
  const { accessKeyId, renewal } = config.credentials;
  const id = `${config.endpoint}\u0000${config.bucket}\u0000${config.region ?? ''}\u0000${renewal?.source ?? accessKeyId}`;
  let get = getters.get(id);
  if (!get) {
    get = createGetObject(config);
    getters.set(id, get);
  }
  return get;
}

/** A GET that first waits for its slot under the run's shared rate cap, if any. */
function getFor(task: DownloadTask, config: S3Config): GetObject {
  const get = getterFor(config);
  const { rateLimit } = task;
  return rateLimit === undefined ? get : async (key, init) => (await acquire(rateLimit), get(key, init));
}

/** Error codes that say retrying cannot help. */
const FINAL = new Set(['ERR_NOT_ENTITLED', 'ERR_NOT_FOUND', 'ERR_CREDENTIALS', 'ERR_PARSE', 'ERR_OFFLINE']);
/** A refused connection is retried briefly only: the main thread's circuit breaker decides the rest. */
const UNREACHABLE_ATTEMPTS = 2;
/** The longest wait between two attempts, a server's Retry-After included. */
const MAX_WAIT_MS = 30_000;

class TaskError extends Error {
  constructor(
    // ERR_THROTTLED lives only inside the retry loop: still throttled at the end is ERR_DOWNLOAD.
    readonly code: FailureCode | 'ERR_THROTTLED',
    message: string,
    readonly o: {
      retryAfterMs?: number | undefined;
      /** Retrying cannot help, whatever the code. */
      final?: boolean;
      /** RequestTimeTooSkewed: the server's time, to correct the clock by before the retry. */
      serverTime?: string | undefined;
      /** ExpiredToken: the set of renewing credentials refused, to be replaced by a newer one before the retry. */
      expired?: number | undefined;
    } = {},
  ) {
    super(message);
  }
}

export default async function download(task: DownloadTask): Promise<TaskResult> {
  let attempts = 0;
  let throttled = 0;
  const retries = (): number => Math.max(0, attempts - 1);

  /**
   * One retry loop, and one budget, for every kind of attempt (a streamed body's Range resumes
   * included): backoff with jitter, Retry-After, final codes.
   */
  const withRetries = <T>(attempt: () => Promise<T>): Promise<T> =>
    retry(
      async () => {
        attempts += 1;
        try {
          return await attempt();
        } catch (error) {
          const e = classify(task, error);
          if (e.code === 'ERR_THROTTLED') {
            throttled += 1;
            Atomics.add(new Int32Array(task.throttleSignal), 0, 1);
          }
          let final = e.o.final === true || FINAL.has(e.code) || (e.code === 'ERR_UNREACHABLE' && attempts >= UNREACHABLE_ATTEMPTS);
          // A clock the server says is off: corrected for every thread of the process, then retried.
          if (e.o.serverTime !== undefined) final = !correctClock(e.o.serverTime);
          // An expired session token: the thread that owns the credentials renews them for every
          // thread (s3/credentials.ts), then retried; final when no newer set comes.
          if (e.o.expired !== undefined && task.config !== undefined) {
            final = (await renewedCredentials(task.config.credentials, e.o.expired, stopping)) === undefined;
          }
          throw final ? new FinalError(e) : e;
        }
      },
      {
        retries: task.retries,
        signal: stopping,
        baseMs: task.minRetryDelayMs,
        capMs: MAX_WAIT_MS,
        // The server's Retry-After (SlowDown) instead of our own backoff.
        retryAfterMs: (error) => (error instanceof TaskError ? error.o.retryAfterMs : undefined),
      },
    );

  // `--all` large files: rows go to the store over the task's port as they are inflated.
  const rowStream = task.port ? new RowStream(task.port, stopping) : undefined;
  try {
    const large = task.size > task.streamAboveBytes;
    if (large && task.rawDir !== undefined) {
      // A large mirrored file streams from disk like a download; a copy that fails its check is absent.
      const r = await streamFromMirror(task.rawDir, task, stopping, rowStream);
      if (r) {
        const { rows, malformed, duplicates, duplicateConflicts, rowCount, misdated, outsideSession } = r;
        return { ok: true, key: task.key, bytes: r.bytes, rows, rowCount, malformed, duplicates, duplicateConflicts, misdated, outsideSession, retries: 0, throttled, fromMirror: true };
      }
    }
    const mirrored = task.rawDir === undefined || large ? undefined : await readRaw(task.rawDir, task);
    const { config } = task;
    if (config !== undefined && large) {
      // Large files stream through: flat memory whatever their size.
      const stream = new StreamDownload(getFor(task, config), task, stopping, rowStream);
      const r = await withRetries(() => stream.attempt()).finally(() => stream.abort());
      const { rows, malformed, duplicates, duplicateConflicts, rowCount, misdated, outsideSession } = r;
      return { ok: true, key: task.key, bytes: r.bytes, rows, rowCount, malformed, duplicates, duplicateConflicts, misdated, outsideSession, retries: retries(), throttled, fromMirror: false };
    }
    const body = mirrored ? [mirrored] : await withRetries(() => fetchVerified(task));
    if (!mirrored && task.rawDir !== undefined) await writeRaw(task.rawDir, task, Buffer.concat(body));
    const base = { ok: true, key: task.key, bytes: task.size, retries: retries(), throttled, fromMirror: !!mirrored } as const;
    if (task.all === true) {
      const { columns, counts } = extractAll(body, task.day, fileKind(task.key));
      const { misdated, outsideSession, duplicateConflicts } = counts;
      return { ...base, rows: [], columns, rowCount: counts.rows, malformed: counts.malformed, duplicates: counts.duplicates, duplicateConflicts, misdated, outsideSession };
    }
    // Both paths checked the body against the listing; an MD5 makes gzip's CRC redundant.
    const r = extractTickers(body, task.tickers, { earlyStop: isPlainMd5(task.etag), day: task.day, kind: fileKind(task.key) });
    return { ...base, rows: r.rows, malformed: r.malformed, duplicates: r.duplicates, duplicateConflicts: r.duplicateConflicts, misdated: r.misdated, outsideSession: r.outsideSession };
  } catch (error) {
    if (stopping.aborted) return { ok: false, key: task.key, code: 'ERR_ABORTED', message: `${task.key}: stopped, the run is ending`, retries: retries(), throttled };
    const e = error instanceof TaskError ? error : classify(task, error);
    // Still throttled after every retry is a download failure like any other.
    const code = e.code === 'ERR_THROTTLED' ? 'ERR_DOWNLOAD' : e.code;
    return { ok: false, key: task.key, code, message: e.message, retries: retries(), throttled };
  } finally {
    rowStream?.close();
  }
}

/** The body as the chunks it arrived in, counted and hashed on the way (no copy into one buffer). */
async function fetchVerified(task: DownloadTask): Promise<Buffer[]> {
  if (task.config === undefined) throw new TaskError('ERR_OFFLINE', `${task.key}: offline, and the raw mirror has no verified copy`);
  const request = requestSignal(stopping, task.requestTimeoutMs);
  try {
    const { body } = await getFor(task, task.config)(task.key, { signal: request.signal });
    const chunks: Buffer[] = [];
    const check = new BodyCheck(task.key, task);
    // Plain events rather than `for await`: no promise and iterator step per chunk.
    await new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        try {
          check.update(chunk);
          chunks.push(chunk);
        } catch (error) {
          body.destroy(error as Error);
        }
      });
      body.once('end', resolve);
      body.once('error', reject);
      body.once('close', () => reject(new Error('the connection closed before the body ended')));
    });
    check.finish();
    return chunks;
  } finally {
    request.done();
  }
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Maps whatever a download threw onto a stable code and one readable line. */
function classify(task: DownloadTask, error: unknown): TaskError {
  if (error instanceof TaskError) return error;
  const { key } = task;
  if (error instanceof ParseError) return new TaskError('ERR_PARSE', `${key}: ${error.message}`);
  const e = (error ?? {}) as SdkError;
  if ((e as { code?: string }).code === 'ERR_INTEGRITY') return new TaskError('ERR_INTEGRITY', e.message ?? 'integrity check failed');
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const refusal = refusalOf(error, task.config?.bucket ?? '');
  switch (refusal?.kind) {
    // The bucket is elsewhere (another region or endpoint): no retry can fix the address.
    case 'elsewhere':
      return new TaskError('ERR_DOWNLOAD', `${key}: ${refusal.line}`, { final: true });
    case 'key-pair':
      return new TaskError('ERR_CREDENTIALS', `${key}: ${keyPairRefused(refusal.code)}`);
    // Retried once the clock is corrected; without a server time to correct it by, final.
    case 'clock-skew':
      return new TaskError('ERR_DOWNLOAD', `${key}: ${clockOff(refusal.serverTime !== undefined)}`, {
        serverTime: refusal.serverTime,
        final: refusal.serverTime === undefined,
      });
    case 'expired-token':
      return new TaskError('ERR_CREDENTIALS', `${key}: ${TOKEN_EXPIRED}`, { expired: error instanceof S3HttpError ? error.credentialsVersion : undefined });
    case 'denied':
      return new TaskError('ERR_NOT_ENTITLED', `${key}: access denied (403 ${name})`);
    case undefined:
      break;
  }
  if (status === 404 || name === 'NoSuchKey') return new TaskError('ERR_NOT_FOUND', `${key}: listed but not found (404 NoSuchKey)`);
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return new TaskError('ERR_UNREACHABLE', `${key}: cannot connect to the S3 endpoint (${code})`);
  }
  const retryAfterMs = parseRetryAfter(e.$response?.headers?.['retry-after']);
  const detail = status === undefined ? `${name}: ${e.message ?? ''}${code ? ` (${code})` : ''}`.trim() : `HTTP ${status} ${name}`;
  return new TaskError(status === 503 || status === 429 || name === 'SlowDown' ? 'ERR_THROTTLED' : 'ERR_DOWNLOAD', `${key}: ${detail}`, {
    retryAfterMs,
  });
}
