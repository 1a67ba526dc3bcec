// The seam between serve's answers (serve/api/: the provider's REST API computed from the store)
// and its HTTP shell (serve/: routing, auth, the cache, load shedding, metrics, shutdown): an
// answer knows nothing of HTTP, the shell nothing of bars.
import type { Store } from '../../store/types.js';

/** One request as the shell hands it to an answer. */
export interface ApiRequest {
  /** Path parameters by the route's names (`:ticker` -> `ticker`), already URL-decoded. */
  params: Readonly<Record<string, string>>;
  /** Query parameters (the last value of a repeated one); `apiKey` is removed by the shell. */
  query: Readonly<Record<string, string | undefined>>;
  /** `http://host:port` as the client reached the server: `next_url` is built on it. */
  baseUrl: string;
  /** The provider's `request_id` for this request, put in the body as is. */
  requestId: string;
}

/** What an answer needs besides the request: the store, opened once by the shell. */
export interface ApiContext {
  store: Store;
  /** The clock, for the last published day and `prev` (tests set it). */
  now: () => Date;
}

/** A JSON answer in the provider's shape (`status`, `request_id`, ...), with its HTTP status. */
export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A value of an answer's body that is JSON text already (a store's encoding of its bars): the
 * shell writes it into the body as it is ({@link encodeBody}). Top-level values only.
 */
export class EncodedJson {
  constructor(readonly text: string) {}
}

/**
 * The body as JSON: JSON.stringify's, except that an {@link EncodedJson} value is written as its
 * text. Keys in the body's order; undefined values left out, as JSON.stringify does.
 */
export function encodeBody(body: Record<string, unknown>): string {
  let out = '';
  for (const key of Object.keys(body)) {
    const value = body[key];
    const text = value instanceof EncodedJson ? value.text : (JSON.stringify(value) as string | undefined);
    if (text === undefined) continue;
    out += `${out === '' ? '{' : ','}${JSON.stringify(key)}:${text}`;
  }
  return out === '' ? '{}' : `${out}}`;
}

/** One endpoint: a find-my-way path pattern (`/v2/aggs/ticker/:ticker/prev`) and its answer. */
export interface ApiRoute {
  path: string;
  handle(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer>;
}

/**
 * A request the API refuses: the shell answers `status` with the provider's error shape,
 * `{"status":"ERROR","request_id":...,"error":message}` (`NOT_FOUND` as the status word for 404).
 */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503 | 504,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * What a window the store does not cover lacks: what a preload of it needs. `kind` tells the two
 * apart: one symbol's window, or every ticker of a dataset's days (a grouped day: an `--all` run).
 */
export type MissingWindow = MissingSymbolWindow | MissingMarketDays;

/** One symbol's bars of a window: a preload of that symbol. */
export interface MissingSymbolWindow {
  kind: 'symbol';
  /** The symbol in the flat files' spelling (`TSLA`, `X:BTC-USD`). */
  symbol: string;
  /** `1d`, or `1m` for every intraday timespan. */
  interval: '1d' | '1m';
  /** Calendar days, YYYY-MM-DD, both included. */
  start: string;
  end: string;
}

/** Every ticker of a day dataset's days (grouped daily): an `--all` preload of that dataset. */
export interface MissingMarketDays {
  kind: 'market';
  /** A day dataset prefix (`us_stocks_sip/day_aggs_v1`). */
  dataset: string;
  /** Calendar days, YYYY-MM-DD, both included. */
  start: string;
  end: string;
}

/**
 * The store does not hold the whole window asked for (never a silent partial answer). Without
 * `--fill` the shell answers 404 with the message (it names what is missing and the command that
 * fills it); with `--fill` it preloads `missing` once, whatever the number of requests waiting
 * for it, and asks the answer again.
 */
export class NotStoredError extends ApiError {
  constructor(
    readonly missing: MissingWindow,
    message: string,
  ) {
    super(404, message);
    this.name = 'NotStoredError';
  }
}
