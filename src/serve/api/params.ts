// Query and path parameters of the API, checked once: every bad value is an ApiError(400) that
// names the parameter and echoes the value (cut short), never an exception from deeper down.
// The opaque `cursor` of `next_url` is base64url JSON of what the next page needs.
import { lastPublishedDay, parseDay, sessionDay } from '../../market-time.js';
import { ApiError, type ApiRequest } from './types.js';

/** Echoes a bad value, cut short (a 200-character ticker is not printed whole). */
export function shown(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

export function bad(name: string, value: string, expected: string): ApiError {
  return new ApiError(400, `Invalid ${name} ${shown(value)}: expected ${expected}`);
}

/** A bound of a window: a calendar day, or a millisecond timestamp. */
export interface Bound {
  /** The New York calendar day (YYYY-MM-DD) the bound falls on. */
  day: string;
  /** Set for a millisecond timestamp: bars are kept by their start time against it. */
  ms: number | undefined;
}

// Timestamps of 1973-2200: the provider takes any; outside these they are a mistake (a date
// without dashes, seconds, nanoseconds).
const MIN_MS = 100_000_000_000;
const MAX_MS = 7_258_118_400_000;

/** `YYYY-MM-DD` or a millisecond timestamp, as the aggregates' `from` and `to` take them. */
export function parseBound(name: string, value: string): Bound {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    if (parseDay(value) === undefined) throw bad(name, value, 'a real calendar day YYYY-MM-DD or a millisecond timestamp');
    return { day: value, ms: undefined };
  }
  if (/^\d{1,13}$/.test(value)) {
    const ms = Number(value);
    if (ms >= MIN_MS && ms <= MAX_MS) return { day: sessionDay(ms), ms };
  }
  throw bad(name, value, 'a date YYYY-MM-DD or a millisecond timestamp');
}

/** A calendar day `YYYY-MM-DD` (grouped daily, open-close). */
export function parseDate(name: string, value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || parseDay(value) === undefined) throw bad(name, value, 'a date YYYY-MM-DD');
  return value;
}

/** `true` / `false` (the provider's `adjusted`), `fallback` when absent. */
export function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw bad(name, value, 'true or false');
}

/** An integer in [1, max], `fallback` when absent. */
export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > max) throw bad('limit', value, `an integer from 1 to ${max}`);
  return Number(value);
}

/** One of `choices`, `fallback` when absent. */
export function parseChoice<T extends string>(name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw bad(name, value, `one of ${choices.join(', ')}`);
}

/** The last day whose file should be published by the context's clock. */
export function publishedEnd(now: Date): string {
  return lastPublishedDay(now);
}

/** Encodes what the next page needs into the provider's opaque `cursor`. */
export function encodeCursor(state: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

/** The state of a `cursor` this server made; ApiError(400) for any other. */
export function decodeCursor(value: string): Record<string, unknown> {
  try {
    if (!/^[A-Za-z0-9_-]{1,2000}$/.test(value)) throw new Error('not base64url');
    const state: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new Error('not an object');
    return state as Record<string, unknown>;
  } catch {
    throw bad('cursor', value, 'the cursor of a next_url this server sent');
  }
}

/** An absolute `next_url` on the request's base URL: the client appends `&apiKey=...` to it. */
export function nextUrl(req: ApiRequest, path: string, cursor: Record<string, unknown>): string {
  return `${req.baseUrl}${path}?cursor=${encodeCursor(cursor)}`;
}
