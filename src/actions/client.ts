// Splits and dividends from the provider's REST API (the flat files are not adjusted, on purpose).
// Global fetch, not node:http: a handful of JSON pages per read, so its cost does not matter here,
// unlike the thousands of object GETs of s3/get.ts.
import { z } from 'zod';
import { parseDay } from '../market-time.js';
import { AbortedError, ActionsError, ConfigurationError, PreloadError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { parseRetryAfter, retry } from '../retry.js';
import { requestSignal } from '../s3/get.js';
import { toDividend, type CorporateActions, type Dividend, type Split } from '../corporate-actions.js';

/**
 * Options of {@link fetchCorporateActions}: the resolved options of the call that needs the actions
 * (validated and defaulted once, in src/options.ts), the key and the tickers.
 */
export type FetchActionsOptions = Pick<ResolvedOptions, 'apiEndpoint' | 'signal' | 'retries' | 'retryDelayMs' | 'timeoutMs'> & {
  /** The REST API key (not the S3 key pair). Sent as `Authorization: Bearer`, never printed. */
  apiKey: string;
  /** Tickers as listed (`TSLA`, `BRK.B`); every one is a key of the result, even without actions. */
  tickers: readonly string[];
  /** Longest `Retry-After` a 429 may ask for; a longer one fails at once instead of hanging the read. @default 120000 */
  maxRetryAfterMs?: number | undefined;
};

type Resolved = FetchActionsOptions & { maxRetryAfterMs: number };

// ~100 tickers keep a request line near 600 bytes; a page holds up to 5000 rows, the API's maximum.
const TICKERS_PER_REQUEST = 100;
const PAGE_LIMIT = 5000;
const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 120_000;
const BODY_IN_MESSAGE = 200;

/**
 * Reads every split and dividend of `tickers` (all of their history the plan can see), following
 * `next_url` page by page with the key in an `Authorization: Bearer` header on every request.
 * Retries network errors, timeouts, 5xx and 429 (honouring `Retry-After`) with backoff.
 *
 * Rejects with ConfigurationError when the API refuses the key (401/403), AbortedError when
 * `signal` aborts, ActionsError (`ERR_ACTIONS`) for an answer that is not the documented JSON, a row
 * that fails validation, or a page still failing after its retries. No message, cause or `url`
 * carries the key.
 *
 * @returns one entry per requested ticker (empty lists where it has none), each list sorted by date.
 * @example
 * const o = resolveOptions();
 * const actions = await fetchCorporateActions({ ...o, apiKey: o.apiKey!, tickers: ['TSLA', 'AAPL'] });
 * actions.get('TSLA')?.splits; // [{ executionDate: '2020-08-31', splitFrom: 1, splitTo: 5, ... }, ...]
 */
export async function fetchCorporateActions(options: FetchActionsOptions): Promise<Map<string, CorporateActions>> {
  const o: Resolved = { ...options, maxRetryAfterMs: options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS };
  const out = new Map<string, CorporateActions>();
  for (const t of o.tickers) out.set(t, { splits: [], dividends: [] });
  const tickers = [...out.keys()];
  const base = o.apiEndpoint.replace(/\/+$/, '');
  for (let i = 0; i < tickers.length; i += TICKERS_PER_REQUEST) {
    // Commas stay literal, as the API documents `ticker.any_of=A,B`; each ticker is encoded on its own.
    const anyOf = tickers.slice(i, i + TICKERS_PER_REQUEST).map(encodeURIComponent).join(',');
    for await (const { row, page } of rows(`${base}/stocks/v1/splits?ticker.any_of=${anyOf}&limit=${PAGE_LIMIT}`, o)) {
      const split = parseRow(splitRow, row, 'split', page, o.apiKey);
      out.get(split.ticker)?.splits.push(split);
    }
    for await (const { row, page } of rows(`${base}/stocks/v1/dividends?ticker.any_of=${anyOf}&limit=${PAGE_LIMIT}`, o)) {
      const dividend = parseRow(dividendRow, row, 'dividend', page, o.apiKey);
      out.get(dividend.ticker)?.dividends.push(dividend);
    }
  }
  for (const a of out.values()) sortActions(a);
  return out;
}

/** Options of {@link fetchAllCorporateActions}: those of {@link fetchCorporateActions} without tickers. */
export type FetchAllActionsOptions = Omit<FetchActionsOptions, 'tickers'> & {
  /** Called after each page is read, with the listing's pages and rows so far. */
  onPage?: ((page: ActionsPage) => void) | undefined;
};

/** Progress of a market-wide listing: one per page read. */
export interface ActionsPage {
  listing: 'splits' | 'dividends';
  /** Pages of this listing read so far. */
  pages: number;
  /** Rows of this listing read so far. */
  rows: number;
}

/**
 * Reads every split and every dividend of the whole market: one paged listing of each, with no
 * ticker filter (the API then lists every ticker's rows), following `next_url` as
 * {@link fetchCorporateActions} does, with its retries and errors. Nothing is kept from a listing
 * that fails midway: the caller stores the result whole or not at all.
 * @returns the actions of every ticker listed, each list sorted by date.
 */
export async function fetchAllCorporateActions(options: FetchAllActionsOptions): Promise<Map<string, CorporateActions>> {
  const o: Resolved = { ...options, tickers: [], maxRetryAfterMs: options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS };
  const out = new Map<string, CorporateActions>();
  const of = (ticker: string): CorporateActions => {
    let a = out.get(ticker);
    if (a === undefined) out.set(ticker, (a = { splits: [], dividends: [] }));
    return a;
  };
  const base = o.apiEndpoint.replace(/\/+$/, '');
  for (const listing of ['splits', 'dividends'] as const) {
    let pages = 0;
    let count = 0;
    const onPage = (n: number): void => {
      pages += 1;
      count += n;
      options.onPage?.({ listing, pages, rows: count });
    };
    for await (const { row, page } of rows(`${base}/stocks/v1/${listing}?limit=${PAGE_LIMIT}`, o, onPage)) {
      if (listing === 'splits') {
        const split = parseRow(splitRow, row, 'split', page, o.apiKey);
        of(split.ticker).splits.push(split);
      } else {
        const dividend = parseRow(dividendRow, row, 'dividend', page, o.apiKey);
        of(dividend.ticker).dividends.push(dividend);
      }
    }
  }
  for (const a of out.values()) sortActions(a);
  return out;
}

function sortActions(a: CorporateActions): void {
  a.splits.sort((x, y) => compare(x.executionDate, y.executionDate) || compare(x.id, y.id));
  a.dividends.sort((x, y) => compare(x.exDividendDate, y.exDividendDate) || compare(x.id, y.id));
}

/**
 * `url` safe to print: every `apiKey=` query value and every occurrence of `apiKey` itself (as
 * given and percent-encoded) replaced by `***`.
 * @example redactUrl('https://api.massive.com/stocks/v1/splits?cursor=x&apiKey=k1') // '...?cursor=x&apiKey=***'
 */
export function redactUrl(url: string, apiKey?: string): string {
  const masked = url.replace(/([?&;]apikey=)[^&#]*/gi, '$1***');
  return apiKey === undefined ? masked : redactKey(masked, apiKey);
}

/** `text` with every occurrence of `apiKey` (as given and percent-encoded) replaced by `***`. */
export function redactKey(text: string, apiKey: string): string {
  if (apiKey === '') return text;
  return [...new Set([apiKey, encodeURIComponent(apiKey)])].reduce((acc, secret) => acc.split(secret).join('***'), text);
}


// ---------- rows ----------
//
// The shapes accepted are the provider's documented ones. Source: its OpenAPI spec as shipped in
// its official JS client (`src/openapi.json`, and the models generated from it in `src/rest/api.ts`:
// GetStocksV1Splits200Response, GetStocksV1Dividends200Response), and the older models of its
// Python client (`massive/rest/models/splits.py`, `dividends.py`):
// - `id`: a string in the spec and in every example ("E90a77..."); the Python client's models type
//   it as an integer, so a number is read too (kept as its decimal text).
// - `split_from` / `split_to`: `number`, format double (float in /v3/reference/splits, whose CSV
//   example prints `1.0,4.0`): any positive finite number, not only whole ones.
// - `adjustment_type`: a string, "possible values include forward_split, reverse_split,
//   stock_dividend"; absent from /v3/reference/splits rows, where it is derived from the ratio.
// - `historical_adjustment_factor`: `number`, cumulative ("for a price on date D, find the first
//   split whose execution_date is after D and multiply by its factor"); optional.
// - dividends: `cash_amount`, `split_adjusted_cash_amount`, `historical_adjustment_factor` numbers,
//   `frequency` an integer, dates `YYYY-MM-DD`, `currency` / `distribution_type` strings; the
//   /v3/reference/dividends rows have `dividend_type` (CD, SC, LT, ST) instead, which is not kept.
// The spec marks only `adjustment_type` (splits) and `distribution_type` (dividends) required, yet
// every example has every field: a row without its ticker, date or ratio (cash) cannot be applied,
// and dropping it would leave bars silently unadjusted, so such a row fails the answer instead.

const day = z.string({ error: 'expected a YYYY-MM-DD date' }).refine((s) => parseDay(s) !== undefined, 'expected a YYYY-MM-DD date');
// Informative fields: absent and null read the same, so a row without them is not rejected.
const maybeNumber = z.number({ error: 'expected a number' }).nullish().transform((v) => v ?? null);
const maybeString = z.string({ error: 'expected a string' }).nullish().transform((v) => v ?? null);
const id = z
  .union([z.string(), z.number()], { error: 'expected a string (or a number)' })
  .nullish()
  .transform((v) => (v == null ? '' : String(v)));
// z.number() refuses NaN and Infinity, and JSON has neither: positive() is "a positive finite number".
const ratio = z.number({ error: 'expected a positive number' }).positive('expected a positive number');

const splitRow = z
  .object({
    ticker: z.string({ error: 'expected a ticker' }).min(1, 'expected a ticker'),
    execution_date: day,
    split_from: ratio,
    split_to: ratio,
    adjustment_type: maybeString,
    historical_adjustment_factor: maybeNumber,
    id,
  })
  .transform(
    (r): Split => ({
      ticker: r.ticker,
      executionDate: r.execution_date,
      splitFrom: r.split_from,
      splitTo: r.split_to,
      // Every kind adjusts by its ratio (read/adjust.ts); the type only says what the event was.
      adjustmentType: r.adjustment_type || (r.split_to >= r.split_from ? 'forward_split' : 'reverse_split'),
      historicalAdjustmentFactor: r.historical_adjustment_factor,
      id: r.id,
    }),
  );

const dividendRow = z
  .object({
    ticker: z.string({ error: 'expected a ticker' }).min(1, 'expected a ticker'),
    ex_dividend_date: day,
    cash_amount: z.number({ error: 'expected a number, 0 or more' }).nonnegative('expected a number, 0 or more'),
    currency: maybeString,
    distribution_type: maybeString,
    frequency: maybeNumber,
    pay_date: maybeString,
    record_date: maybeString,
    declaration_date: maybeString,
    split_adjusted_cash_amount: maybeNumber,
    historical_adjustment_factor: maybeNumber,
    id,
  })
  .transform((r): Dividend => toDividend(r));

function parseRow<T>(schema: z.ZodType<T>, row: unknown, kind: string, page: PageRef, apiKey: string): T {
  const parsed = schema.safeParse(row);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  const record = typeof row === 'object' && row !== null ? (row as Record<string, unknown>) : {};
  const value = field === '' ? row : record[field];
  const which = typeof record['ticker'] === 'string' ? ` for ${record['ticker']}` : '';
  const where = redactUrl(page.url, apiKey);
  // The request_id lets a user quote the answer to the provider.
  const request = page.requestId === undefined ? '' : `, request_id ${page.requestId}`;
  throw new ActionsError(
    oneLine(redactKey(`The REST API sent a ${kind} row${which} that is not valid: \`${field || '(row)'}\` ${issue?.message ?? 'is invalid'}, got ${show(value)} (GET ${where}${request})`, apiKey)),
    { url: where },
  );
}

function show(value: unknown): string {
  // JSON.stringify answers undefined only for undefined, functions and symbols: none come from JSON.
  const text = JSON.stringify(value) ?? 'undefined';
  return `\`${text.length > 80 ? `${text.slice(0, 80)}...` : text}\` (${value === null ? 'null' : typeof value})`;
}

// ---------- pages ----------

// `{ results, status, request_id, next_url }`. `request_id` is a string in the spec but the integer
// 1 in both v1 examples (and a hex string in the v3 ones): either is read, as is its absence.
// `status` is "OK" in the spec; it is not checked (an error comes with a 4xx, handled before).
const envelope = z.object({
  results: z.array(z.unknown(), { error: 'expected a `results` array' }),
  request_id: z.union([z.string(), z.number().int()], { error: 'expected `request_id` to be a string or an integer' }).nullish(),
  next_url: z.string({ error: 'expected `next_url` to be a string' }).nullish(),
});

/** The page a row came from, for messages. */
interface PageRef {
  url: string;
  requestId: string | undefined;
}

/** Every row of a listing, page after page, each with its page (for messages). */
async function* rows(first: string, o: Resolved, onPage?: (rows: number) => void): AsyncGenerator<{ row: unknown; page: PageRef }> {
  const origin = new URL(first).origin;
  const seen = new Set<string>();
  for (let url: string | undefined = first; url !== undefined; ) {
    // A server that hands back a page already read would otherwise loop for ever.
    if (seen.has(url)) throw new ActionsError(`The REST API's next_url repeats a page already read (GET ${redactUrl(url, o.apiKey)})`, { url: redactUrl(url, o.apiKey) });
    seen.add(url);
    const page = await getPage(url, o);
    // Shortened: the server chooses it, and a message stays one readable line.
    const ref: PageRef = { url, requestId: page.request_id == null ? undefined : redactKey(String(page.request_id), o.apiKey).slice(0, 80) };
    for (const row of page.results) yield { row, page: ref };
    onPage?.(page.results.length);
    const next: string | undefined = page.next_url ?? undefined;
    if (next === undefined || next === '') break;
    const resolved: URL | undefined = URL.canParse(next, url) ? new URL(next, url) : undefined;
    // The key goes with every request: never to another origin than the one configured.
    if (resolved?.origin !== origin) {
      const shown = redactUrl(next, o.apiKey);
      throw new ActionsError(`The REST API's next_url ${shown} is not on ${origin}: not sending the key there`, { url: shown });
    }
    // As given when absolute: its cursor is opaque, and any apiKey= it carries is left alone (only never printed).
    url = URL.canParse(next) ? next : resolved.href;
  }
}

async function getPage(url: string, o: Resolved): Promise<z.output<typeof envelope>> {
  const where = redactUrl(url, o.apiKey);
  const text = await getText(url, where, o);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ActionsError(`The REST API answered GET ${where} with a body that is not JSON: ${snippet(text, o.apiKey)}`, { url: where });
  }
  const parsed = envelope.safeParse(json);
  if (!parsed.success) {
    const status = (json as { status?: unknown } | null)?.status;
    const said = typeof status === 'string' ? ` (status ${oneLine(redactKey(status, o.apiKey))})` : '';
    const issue = parsed.error.issues[0];
    // Not an object, or no results: not a listing at all. Otherwise name the field that breaks the shape.
    const noResults = typeof json !== 'object' || json === null || Array.isArray(json) || issue?.path[0] === 'results';
    const what = noResults ? 'without a `results` array' : `with an answer that is not the documented one (${issue?.message ?? 'invalid'})`;
    throw new ActionsError(`The REST API answered GET ${where} ${what}${said}: ${snippet(text, o.apiKey)}`, { url: where });
  }
  return parsed.data;
}

/** A page that failed in a way a further attempt may not: its reason, for the final message. */
class PageFailure extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** A 200's body, after the retries a page may need. */
async function getText(url: string, where: string, o: Resolved): Promise<string> {
  const attempts = o.retries + 1;
  try {
    return await retry(() => getOnce(url, where, o), {
      retries: o.retries,
      baseMs: o.retryDelayMs,
      capMs: MAX_BACKOFF_MS,
      maxRetryAfterMs: o.maxRetryAfterMs,
      signal: o.signal,
      shouldRetry: ({ error }) => error instanceof PageFailure,
      retryAfterMs: (error) => (error instanceof PageFailure ? error.retryAfterMs : undefined),
    });
  } catch (error) {
    if (o.signal?.aborted === true) throw new AbortedError();
    if (!(error instanceof PageFailure)) throw error;
    throw new ActionsError(`GET ${where} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error.reason}`, { url: where, cause: error.cause });
  }
}

/** One GET of a page: its body, a PreloadError that no retry can cure, or a PageFailure. */
async function getOnce(url: string, where: string, o: Resolved): Promise<string> {
  const request = requestSignal(o.signal, o.timeoutMs);
  let failure: PageFailure;
  try {
    // 'manual': a redirect would take the Authorization header along to wherever it points.
    const res = await fetch(url, { headers: { authorization: `Bearer ${o.apiKey}`, accept: 'application/json' }, redirect: 'manual', signal: request.signal });
    const body = await res.text();
    if (res.status === 200) return body;
    if (res.status === 401 || res.status === 403) {
      const said = providerMessage(body, o.apiKey);
      throw new ConfigurationError(`The REST API refused the key in MASSIVE_API_KEY (HTTP ${res.status}${said ? `: ${said}` : ''})`);
    }
    if (res.status !== 429 && res.status < 500) {
      throw new ActionsError(`The REST API answered GET ${where} with HTTP ${res.status}: ${snippet(body, o.apiKey)}`, { url: where });
    }
    const asked = res.status === 429 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
    failure = new PageFailure(`HTTP ${res.status}`, asked);
  } catch (error) {
    if (error instanceof PreloadError) throw error;
    if (o.signal?.aborted === true) throw new AbortedError();
    failure = request.timedOut()
      ? new PageFailure(`no complete answer within ${o.timeoutMs} ms`)
      : new PageFailure(redactKey(describeNetworkError(error), o.apiKey), undefined, { cause: safeCause(error, o.apiKey) });
  } finally {
    request.done();
  }
  // Waiting longer than allowed would hang the read: no further attempt.
  if (failure.retryAfterMs !== undefined && failure.retryAfterMs > o.maxRetryAfterMs) {
    throw new ActionsError(
      `The REST API rate-limited GET ${where} and asks to wait ${Math.ceil(failure.retryAfterMs / 1000)} s (Retry-After), more than maxRetryAfterMs (${o.maxRetryAfterMs} ms)`,
      { url: where },
    );
  }
  throw failure;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = parseRetryAfter;

/** The `error` or `message` of a JSON error body, on one line. */
function providerMessage(body: string, apiKey: string): string {
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown } | null;
    const said = json?.error ?? json?.message;
    return typeof said === 'string' ? oneLine(redactKey(said, apiKey)) : '';
  } catch {
    return '';
  }
}

function snippet(body: string, apiKey: string): string {
  const line = oneLine(redactKey(body, apiKey));
  if (line === '') return '(empty body)';
  return line.length > BODY_IN_MESSAGE ? `${line.slice(0, BODY_IN_MESSAGE)}...` : line;
}

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** fetch's "fetch failed" keeps Node's code and message in `cause`: the part worth printing. */
function describeNetworkError(error: unknown): string {
  const e = error as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const cause = e.cause;
  if (cause && typeof cause.message === 'string') return typeof cause.code === 'string' ? `${cause.code} (${cause.message})` : cause.message;
  return typeof e.message === 'string' ? e.message : String(error);
}

/**
 * A copy of a network error (and its cause) with the key removed from the messages: undici's
 * errors may quote the URL, which can carry `apiKey=`. Keeps `name` and `code` for callers.
 */
function safeCause(error: unknown, apiKey: string, depth = 0): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redactKey(error, apiKey) : undefined;
  const copy = new Error(redactUrl(error.message, apiKey));
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') Object.assign(copy, { code });
  if (error.cause !== undefined && depth < 3) copy.cause = safeCause(error.cause, apiKey, depth + 1);
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
