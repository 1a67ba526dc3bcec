import { monthsBetween } from '../market-time.js';
import { ConfigurationError, NotEntitledError, PreloadError } from '../errors.js';
import type { DayFile } from '../types.js';
import type { ListInput, ListObjects, ListPage } from './list-objects.js';
import { clockOff, keyPairRefused, refusalOf, TOKEN_EXPIRED } from './refusal.js';

/** One listed day file. The listing is the calendar: a day without a file is not a trading day. */
export interface ListOptions {
  dataset: string;
  bucket: string;
  start: string;
  end: string;
  /** Months listed at once. */
  concurrency?: number;
  signal?: AbortSignal | undefined;
  /**
   * Called when the listing shows a file after `end` (in `end`'s month): every day of the window
   * without a file is then no trading day, not a file yet to come.
   */
  onLaterFile?: () => void;
}

const DAY_KEY = /^(\d{4})\/(\d{2})\/(\d{4})-(\d{2})-(\d{2})\.csv\.gz$/;

/**
 * Parses a listed key into its day, or undefined when it is not exactly
 * `<dataset>/YYYY/MM/YYYY-MM-DD.csv.gz`. Anything else (other files, `..`, absolute paths)
 * is ignored, so a hostile listing can never steer a key anywhere.
 */
export function dayOfKey(dataset: string, key: string): string | undefined {
  if (!key.startsWith(`${dataset}/`)) return undefined;
  const m = DAY_KEY.exec(key.slice(dataset.length + 1));
  if (!m || m[1] !== m[3] || m[2] !== m[4]) return undefined;
  return `${m[3]}-${m[4]}-${m[5]}`;
}

/**
 * Lists the day files of a window, one ListObjectsV2 prefix per month, several months at once.
 * Yields each month's files as soon as it is listed, so downloads can start before the
 * listing ends.
 */
export async function* listDayFiles(client: ListObjects, o: ListOptions): AsyncGenerator<DayFile[]> {
  const { start } = o;
  if (start > o.end) return;
  const months = monthsBetween(start, o.end);
  const concurrency = o.concurrency ?? 6;
  const requests = new RequestSignals(o.signal);
  const pending = new Map<number, Promise<{ i: number; files: DayFile[] }>>();
  let next = 0;
  const launch = (): void => {
    const i = next++;
    const month = months[i];
    if (month === undefined) return;
    const listed = listPrefix(client, o, requests, `${o.dataset}/${month}/`).then((files) => {
      if (files.some((f) => f.day > o.end)) o.onLaterFile?.();
      return { i, files: files.filter((f) => f.day >= start && f.day <= o.end) };
    });
    // Handled from the start: a consumer may stop (abort, a 403 in another month) before it
    // awaits this month, and a rejection nobody handles ends a Node 20 process.
    listed.catch(() => undefined);
    pending.set(i, listed);
  };
  try {
    while (next < Math.min(concurrency, months.length)) launch();
    while (pending.size > 0) {
      const { i, files } = await Promise.race(pending.values());
      pending.delete(i);
      launch();
      yield files;
    }
  } finally {
    // Stopped early (the consumer returned, or a month failed): abort the months still being
    // listed and wait for them, so no request outlives the listing (or its client).
    requests.close();
    await Promise.allSettled(pending.values());
  }
}

/**
 * Short-lived signals for the requests of one listing. A client adds abort listeners to the
 * signal of every request (the HTTP request's, its retry waits'): given the run's signal, a
 * listing of many months and their retries added more than Node's 10 and Node printed
 * MaxListenersExceededWarning into the host app. Each request gets a signal of its own instead,
 * dropped when it settles, and the run's signal holds a single listener per listing, removed by
 * `close()`, however many months and retries are in flight.
 */
class RequestSignals {
  readonly #run: AbortSignal | undefined;
  readonly #live = new Set<AbortController>();
  #closed = false;
  readonly #onAbort = (): void => {
    for (const c of this.#live) c.abort(this.#run?.reason);
  };

  constructor(run: AbortSignal | undefined) {
    this.#run = run;
    run?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Runs one request with its own signal, aborted when the run's is (or already was). */
  async send<T>(request: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    if (this.#run?.aborted) controller.abort(this.#run.reason);
    else if (this.#closed) controller.abort();
    this.#live.add(controller);
    try {
      return await request(controller.signal);
    } finally {
      this.#live.delete(controller);
    }
  }

  /** Removes the listener on the run's signal and aborts the requests still in flight. */
  close(): void {
    this.#closed = true;
    this.#run?.removeEventListener('abort', this.#onAbort);
    for (const c of this.#live) c.abort();
  }
}

async function listPrefix(client: ListObjects, o: ListOptions, requests: RequestSignals, prefix: string): Promise<DayFile[]> {
  const files: DayFile[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await send(client, o, requests, { Bucket: o.bucket, Prefix: prefix, ContinuationToken: token });
    for (const obj of page.Contents ?? []) {
      const day = obj.Key === undefined ? undefined : dayOfKey(o.dataset, obj.Key);
      if (day === undefined || obj.Key === undefined) continue;
      files.push({
        key: obj.Key,
        day,
        size: obj.Size ?? 0,
        etag: (obj.ETag ?? '').replaceAll('"', ''),
        lastModified: obj.LastModified?.toISOString(),
      });
    }
    if (!page.IsTruncated) return files;
    // A truncated page with no token to go on: stopping here would record the missing days as
    // covered (the listing is the calendar), so the month fails instead.
    if (!page.NextContinuationToken) {
      throw new PreloadError('ERR_LIST', `Listing ${prefix} at the S3 endpoint failed: a page says more keys follow (IsTruncated) but gives no continuation token`);
    }
    token = page.NextContinuationToken;
  }
}

/** For `period: max`: January 1 of the first year the dataset has, from its top-level prefixes. */
export async function findFirstDay(
  client: ListObjects,
  o: Pick<ListOptions, 'dataset' | 'bucket' | 'signal'>,
): Promise<string | undefined> {
  const requests = new RequestSignals(o.signal);
  let page: ListPage;
  try {
    page = await send(client, o, requests, { Bucket: o.bucket, Prefix: `${o.dataset}/`, Delimiter: '/' });
  } finally {
    requests.close();
  }
  const years = (page.CommonPrefixes ?? [])
    .map((p) => /\/(\d{4})\/$/.exec(p.Prefix ?? '')?.[1])
    .filter((y): y is string => y !== undefined)
    .sort();
  return years[0] === undefined ? undefined : `${years[0]}-01-01`;
}

async function send(client: ListObjects, o: Pick<ListOptions, 'dataset' | 'signal'>, requests: RequestSignals, input: ListInput): Promise<ListPage> {
  try {
    return await requests.send((abortSignal) => client(input, { abortSignal }));
  } catch (cause) {
    const refusal = refusalOf(cause, input.Bucket);
    switch (refusal?.kind) {
      case 'elsewhere':
        throw new ConfigurationError(refusal.line, { cause });
      case 'key-pair':
        throw new ConfigurationError(capitalize(keyPairRefused(refusal.code)), { cause });
      // Reaching here, the listing client has already corrected the clock (or could not).
      case 'clock-skew':
        throw new ConfigurationError(capitalize(clockOff(refusal.serverTime !== undefined)), { cause });
      case 'expired-token':
        throw new ConfigurationError(capitalize(TOKEN_EXPIRED), { cause });
      case 'denied':
        throw new NotEntitledError(o.dataset, input.Prefix);
      case undefined:
        break;
    }
    if (o.signal?.aborted) throw cause;
    const code = (cause as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
      throw new PreloadError('ERR_UNREACHABLE', `Cannot reach the S3 endpoint (${code}) to list ${input.Prefix}`, { cause });
    }
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new PreloadError('ERR_LIST', `Listing ${input.Prefix} at the S3 endpoint failed: ${detail}`, { cause });
  }
}

function capitalize(line: string): string {
  return `${line.charAt(0).toUpperCase()}${line.slice(1)}`;
}
