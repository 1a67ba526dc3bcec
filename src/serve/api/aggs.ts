// The aggregates endpoints of one ticker: custom bars (`/v2/aggs/ticker/.../range/...`), the
// previous close (`/prev`) and the daily open/close (`/v1/open-close`), in the provider's JSON.
import { hasActions } from '../../actions/refresh.js';
import { isRegularMinute, minuteOfDay, newYorkOffset, addDays, sessionDay } from '../../market-time.js';
import { adjustmentOf } from '../../read/adjusted.js';
import type { EncodedBars } from '../../store/types.js';
import type { Bar } from '../../types.js';
import { bucketize, dayStart, isIntraday, TIMESPANS, type Bucket, type Timespan } from './buckets.js';
import { bad, decodeCursor, nextUrl, parseBoolean, parseBound, parseChoice, parseDate, parseLimit, publishedEnd, type Bound } from './params.js';
import { fromApiTicker, type ApiTicker } from './tickers.js';
import { ApiError, EncodedJson, type ApiAnswer, type ApiContext, type ApiRequest } from './types.js';
import { isCovered, missingActions, readAdjusted, requireCovered } from './window.js';

/** The provider's `limit` of base bars: 5,000 by default, 50,000 at most. */
export const AGGS_DEFAULT_LIMIT = 5_000;
export const AGGS_MAX_LIMIT = 50_000;
/** Minute bars are read whole for a window (~1,000 a day and ticker): two years at most a request. */
export const MAX_INTRADAY_DAYS = 731;
/** The largest multiplier of each timespan: ten years' worth (a larger one is a typo). */
const MAX_MULTIPLIER: Record<Timespan, number> = { minute: 5_256_000, hour: 87_600, day: 3_660, week: 520, month: 120, quarter: 40, year: 10 };
const SORTS = ['asc', 'desc'] as const;

/** A result bar as the provider names its fields (`vw` and `otc` left out: the files do not have them). */
export interface AggResult {
  /** Left out for indices. */
  v?: number;
  o: number;
  c: number;
  h: number;
  l: number;
  t: number;
  n?: number;
}

/**
 * Results are plain objects that the shell serializes with JSON.stringify (fastify's default). For
 * a 5-year daily answer (1,300 bars, 171 KB) measured side by side, interleaved, 21 rounds of 100
 * on this 2-core machine under load, medians per answer: JSON.stringify 2.24 ms and 2.32 ms (two
 * runs), a fast-json-stringify schema 2.37 / 2.93 ms, a hand-built string 2.40 / 2.52 ms. Number
 * formatting is the cost all three share: neither alternative earns a place in the seam.
 */
export function toResult(b: Bar, index = false): AggResult {
  // Key order as the provider's examples: v, o, c, h, l, t, n. Index bars have neither volume nor
  // transactions (the files have no such columns; the provider's index answers no v or n).
  if (index) return { o: b.open, c: b.close, h: b.high, l: b.low, t: b.time };
  const r: AggResult = { v: b.volume, o: b.open, c: b.close, h: b.high, l: b.low, t: b.time };
  if (b.transactions !== null) r.n = b.transactions;
  return r;
}

/**
 * The envelope's head: an index answer has no `adjusted` (nothing to adjust; the provider's
 * index aggregates leave it out).
 */
function head(t: ApiTicker, queryCount: number, resultsCount: number, adjusted: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { ticker: t.api, queryCount, resultsCount };
  if (t.assetClass !== 'index') body['adjusted'] = adjusted;
  return body;
}

/** `GET /v2/aggs/ticker/:stocksTicker/range/:multiplier/:timespan/:from/:to` */
export async function rangeAnswer(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> {
  const p = req.params;
  const t = fromApiTicker(p['stocksTicker'] ?? '');
  const timespan = parseChoice('timespan', p['timespan'], TIMESPANS, 'day');
  const multiplier = parseMultiplier(p['multiplier'] ?? '', timespan);
  const from = parseBound('from', p['from'] ?? '');
  const to = parseBound('to', p['to'] ?? '');
  if (startMs(from) > endMs(to)) throw new ApiError(400, `Invalid window: from ${p['from'] ?? ''} is after to ${p['to'] ?? ''}`);
  const page = pageOf(req.query);
  const intraday = isIntraday(timespan);
  const interval = intraday ? '1m' : '1d';
  if (intraday && daysBetween(from.day, to.day) > MAX_INTRADAY_DAYS) {
    throw new ApiError(400, `Invalid window: ${from.day} to ${to.day} is more than ${MAX_INTRADAY_DAYS} days of minute bars; ask for it in parts`);
  }

  await requireCovered(ctx, t, interval, from.day, to.day);
  if (timespan === 'day' && multiplier === 1 && from.ms === undefined && to.ms === undefined && page.at === undefined) {
    const encoded = await encodedDays(ctx, t, from.day, to.day, page);
    if (encoded !== undefined) {
      const body = head(t, encoded.count, encoded.count, page.adjusted);
      if (encoded.count > 0) body['results'] = new EncodedJson(encoded.json);
      body['status'] = 'OK';
      body['request_id'] = req.requestId;
      return { status: 200, body };
    }
  }
  // A timestamp bound reads a day more on its side: a crypto or forex file's day need not be the
  // New York day of every bar in it. Date bounds read exactly readBars' days.
  const readFrom = from.ms === undefined ? from.day : addDays(from.day, -1);
  const readTo = to.ms === undefined ? to.day : addDays(to.day, 1);
  const stored = await readAdjusted(ctx, t, interval, readFrom, readTo, page.adjusted);
  const bars = from.ms === undefined && to.ms === undefined ? stored : stored.filter((b) => b.time >= startMs(from) && b.time <= endMs(to));
  const buckets = bucketize(bars, multiplier, timespan, from.day);
  if (page.sort === 'desc') buckets.reverse();

  const { taken, next } = takePage(buckets, page);
  const body = head(
    t,
    taken.reduce((n, b) => n + b.base, 0),
    taken.length,
    page.adjusted,
  );
  const index = t.assetClass === 'index';
  if (taken.length > 0) body['results'] = taken.map((b) => toResult(b.bar, index));
  body['status'] = 'OK';
  body['request_id'] = req.requestId;
  if (next !== undefined) {
    const path = `/v2/aggs/ticker/${encodeTicker(t.api)}/range/${multiplier}/${timespan}/${p['from'] ?? ''}/${p['to'] ?? ''}`;
    body['next_url'] = nextUrl(req, path, { a: page.adjusted, s: page.sort, l: page.limit, p: next });
  }
  return { status: 200, body };
}

/** The keys of a result bar, in the provider's order (toResult's), with the bar field each holds. */
const RESULT_FIELDS = [['v', 'volume'], ['o', 'open'], ['c', 'close'], ['h', 'high'], ['l', 'low'], ['t', 'time'], ['n', 'transactions']] as const;
const INDEX_FIELDS = RESULT_FIELDS.filter(([k]) => k !== 'v' && k !== 'n');

/**
 * One page of day bars by date, as the store encodes them (Store.readBarsJson): the same bars as
 * readAdjusted then toResult, at about half the CPU of a 5-year answer. Undefined when the store
 * cannot, the window holds more than a page, or a split adjusts a bar in it: the general path answers.
 */
async function encodedDays(ctx: ApiContext, t: ApiTicker, from: string, to: string, page: Page): Promise<EncodedBars | undefined> {
  if (ctx.store.readBarsJson === undefined) return undefined;
  const index = t.assetClass === 'index';
  const encoded = await ctx.store.readBarsJson(t.ticker, '1d', from, to, { fields: index ? INDEX_FIELDS : RESULT_FIELDS, desc: page.sort === 'desc', limit: page.limit });
  if (encoded === undefined || encoded.first === undefined || !page.adjusted || !hasActions(t.dataset)) return encoded;
  // Adjusted stock bars are the raw ones when no split's factor reaches the first of them
  // (adjustBars: a bar on or after the last step's date is left as it is).
  if ((await ctx.store.getActions(t.ticker)) === undefined) throw missingActions([t.ticker]);
  const steps = await adjustmentOf(ctx.store, t.symbol, t.ticker, t.dataset, 'splits');
  const last = steps.at(-1);
  return last === undefined || sessionDay(encoded.first) >= last.date ? encoded : undefined;
}

interface Page {
  adjusted: boolean;
  sort: 'asc' | 'desc';
  limit: number;
  /** The first bucket start of this page (a cursor's), undefined on the first page. */
  at: number | undefined;
}

/** The query's adjusted/sort/limit, or the cursor's (which carries them from the first page). */
function pageOf(query: ApiRequest['query']): Page {
  const cursor = query['cursor'];
  if (cursor !== undefined) {
    const s = decodeCursor(cursor);
    const { a, s: sort, l, p } = s;
    if (typeof a !== 'boolean' || (sort !== 'asc' && sort !== 'desc') || !Number.isInteger(l) || !Number.isFinite(p)) throw bad('cursor', cursor, 'the cursor of a next_url this server sent');
    return { adjusted: a, sort, limit: Math.min(Math.max(Number(l), 1), AGGS_MAX_LIMIT), at: Number(p) };
  }
  return {
    adjusted: parseBoolean('adjusted', query['adjusted'], true),
    sort: parseChoice('sort', query['sort'], SORTS, 'asc'),
    limit: parseLimit(query['limit'], AGGS_DEFAULT_LIMIT, AGGS_MAX_LIMIT),
    at: undefined,
  };
}

/**
 * The buckets of this page: from the cursor's position, whole buckets while their base bars stay
 * within `limit` (the provider's unit: "the number of base aggregates queried"), at least one so
 * that paging always moves; `next` is the start of the first bucket left over.
 */
function takePage(buckets: readonly Bucket[], page: Page): { taken: Bucket[]; next: number | undefined } {
  let i = 0;
  if (page.at !== undefined) {
    const at = page.at;
    i = buckets.findIndex((b) => (page.sort === 'asc' ? b.bar.time >= at : b.bar.time <= at));
    if (i < 0) i = buckets.length;
  }
  const taken: Bucket[] = [];
  let base = 0;
  for (; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (taken.length > 0 && base + b.base > page.limit) break;
    taken.push(b);
    base += b.base;
  }
  return { taken, next: buckets[i]?.bar.time };
}

function parseMultiplier(value: string, timespan: Timespan): number {
  const max = MAX_MULTIPLIER[timespan];
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > max) throw bad('multiplier', value, `an integer from 1 to ${max} for timespan ${timespan}`);
  return Number(value);
}

/** The first ms a bound lets in: a day's midnight New York, or the timestamp. */
function startMs(b: Bound): number {
  return b.ms ?? dayStart(b.day);
}

/** The last ms a bound lets in: the day's last ms, or the timestamp. */
function endMs(b: Bound): number {
  return b.ms ?? dayStart(addDays(b.day, 1)) - 1;
}

function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000);
}

/** A ticker in a path: the ticker is checked already (letters, digits, `:.-`), encoded anyway. */
export function encodeTicker(ticker: string): string {
  return encodeURIComponent(ticker).replaceAll('%3A', ':');
}

/** How far back `prev` looks for the last session: a long holiday weekend is four days. */
const PREV_LOOKBACK_DAYS = 7;

/** `GET /v2/aggs/ticker/:stocksTicker/prev`: the last session's bar up to the last published day. */
export async function prevAnswer(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> {
  const t = fromApiTicker(req.params['stocksTicker'] ?? '');
  const adjusted = parseBoolean('adjusted', req.query['adjusted'], true);
  const end = publishedEnd(ctx.now());
  const start = addDays(end, -PREV_LOOKBACK_DAYS);
  await requireCovered(ctx, t, '1d', start, end);
  const last = (await readAdjusted(ctx, t, '1d', start, end, adjusted)).at(-1);
  const results = last === undefined ? [] : [{ T: t.api, ...toResult(last, t.assetClass === 'index') }];
  const body = head(t, results.length, results.length, adjusted);
  if (results.length > 0) body['results'] = results;
  body['status'] = 'OK';
  body['request_id'] = req.requestId;
  return { status: 200, body };
}

/**
 * `GET /v1/open-close/:stocksTicker/:date`: the day bar; `preMarket` (the open of the first minute
 * before 09:30 New York) and `afterHours` (the close of the last minute from 16:00) only when the
 * store holds that day's minute bars, left out otherwise (the provider's spec has them optional).
 */
export async function openCloseAnswer(ctx: ApiContext, req: ApiRequest): Promise<ApiAnswer> {
  const t = fromApiTicker(req.params['stocksTicker'] ?? '');
  const date = parseDate('date', req.params['date'] ?? '');
  const adjusted = parseBoolean('adjusted', req.query['adjusted'], true);
  await requireCovered(ctx, t, '1d', date, date);
  const bar = (await readAdjusted(ctx, t, '1d', date, date, adjusted))[0];
  if (bar === undefined) throw new ApiError(404, `Data not found: no bar of ${t.api} on ${date}`);
  const body: Record<string, unknown> = { status: 'OK', from: date, symbol: t.api, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
  if (t.assetClass !== 'index') body['volume'] = bar.volume;
  if (await isCovered(ctx.store, t, '1m', date, date)) {
    const minutes = await readAdjusted(ctx, t, '1m', date, date, adjusted);
    const { pre, after } = extendedHours(minutes);
    if (after !== undefined) body['afterHours'] = after;
    if (pre !== undefined) body['preMarket'] = pre;
  }
  return { status: 200, body };
}

function extendedHours(minutes: readonly Bar[]): { pre: number | undefined; after: number | undefined } {
  let pre: number | undefined;
  let after: number | undefined;
  for (const m of minutes) {
    const minute = minuteOfDay(m.time + newYorkOffset(m.time));
    if (isRegularMinute(minute)) continue;
    if (minute < 570) pre ??= m.open;
    else after = m.close;
  }
  return { pre, after };
}

