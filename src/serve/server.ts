// serve's HTTP shell: the provider's REST API on the answers of serve/api/, behind a token,
// a bounded gate (503 past a bounded queue), a per-request time limit, a memory cache of recent
// answers invalidated when the store changes, /healthz and /metrics, and a graceful close.
//
// Why fastify over a bare node:http router: its router (find-my-way) matches the answers' path
// patterns, it brings pino logs and a graceful close (503 to new requests while closing, idle
// keep-alive sockets closed, requests in flight finished); bench/scenarios/serve.ts measures it
// against a bare node:http server answering the same bytes.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions, type FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { InvalidOptionError, PreloadError } from '../errors.js';
import { parseOptions, resolveOptions, type PreloadOptions } from '../options.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { API_ROUTES } from './api/routes.js';
import { ApiError, encodeBody, NotStoredError, type ApiAnswer, type ApiContext, type ApiRequest, type ApiRoute } from './api/types.js';
import { isLoopback, presentedKey, TOKEN_ENV, tokenCheck } from './auth.js';
import { AnswerCache, splitAnswer } from './cache.js';
import { Filler, REFILL_AFTER_MS } from './fill.js';
import { Gate, ShedError } from './gate.js';
import { serveMetrics } from './metrics.js';
import { defaultConcurrency, serveSchema, type ServeOptions } from './options.js';

/** A server made by {@link createServer}. */
export interface MarketDataServer {
  /** Starts listening; resolves with the base URL clients point at (`http://127.0.0.1:8080`). */
  listen(): Promise<{ url: string }>;
  /**
   * Stops accepting requests, lets the ones in flight finish (new ones get 503 meanwhile), and
   * the preloads `fill` started with them, then closes the store.
   */
  close(): Promise<void>;
  /** Where the store is, safe to print (a path, or a URL with its password masked). */
  readonly where: string;
  /** Whether answers are cached (the store can say when it changes). */
  readonly caching: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The time limit passed: the answer, if it ever comes, is dropped. */
class TimeLimitError extends Error {}

/**
 * The provider's REST API (`/v2/aggs/...`, splits, dividends, ...) answered from the local store,
 * for any client of the provider pointed at it with one line (docs/serve.md).
 *
 * @throws InvalidOptionError on a bad option, or a `host` other than loopback without `token`
 * (nor `PRELOAD_SERVE_TOKEN`); StoreError when the store cannot be opened.
 * @example
 * const server = await createServer({ port: 8080 });
 * const { url } = await server.listen(); // restClient(key, url) reads from the store
 * await server.close();
 */
export async function createServer(options: ServeOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<MarketDataServer> {
  const { o, preloadOptions, store } = await openServe(options, env);
  try {
    return await Shell.start(store, o, preloadOptions, o.routes ?? API_ROUTES);
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * What {@link createServer} checks and builds before it listens, without listening: the options,
 * the store, and its index by ticker (built when missing). Several processes serving one store
 * (`serve --processes N`) call it once first, so that the options are refused once and the index
 * is built once, not by each process at the same time.
 * @throws as createServer
 */
export async function prepareServe(options: ServeOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { o, store } = await openServe(options, env);
  try {
    await buildIndex(store, o);
  } finally {
    await store.close();
  }
}

async function openServe(options: ServeOptions, env: NodeJS.ProcessEnv): Promise<{ o: Options; preloadOptions: PreloadOptions; store: Store }> {
  const { host, port, token: givenToken, fill, concurrency, queue, timeLimitMs, cacheBytes, maxUrlBytes, log, routes, now, onIndex, ...rest } = options;
  const o = parseOptions(serveSchema, { host, port, token: givenToken ?? (env[TOKEN_ENV] || undefined), fill, concurrency, queue, timeLimitMs, cacheBytes, maxUrlBytes, log, routes, now, onIndex });
  if (o.token === undefined && !isLoopback(o.host)) {
    throw new InvalidOptionError(
      'host',
      o.host,
      `Listening on \`${o.host}\` (not a loopback address) needs a token: give \`token\` (or ${TOKEN_ENV}), which every client then sends as its API key`,
    );
  }
  // Where the store is and how --fill downloads: checked now, once, as any call of the library.
  const preloadOptions: PreloadOptions = rest;
  const where = resolveOptions(preloadOptions, env);
  return { o, preloadOptions, store: await openStore(where) };
}

/**
 * A large --all leaves a SQLite store without its index by ticker (the ingest is faster without
 * it): answers by ticker need it (~2 ms a 5-year read against ~8-120 ms), so it is built once
 * before the first request, rather than in the middle of answering one.
 */
async function buildIndex(store: Store, o: Options): Promise<void> {
  const started = Date.now();
  if (await store.buildReadIndex?.(() => o.onIndex?.({ state: 'building' }))) o.onIndex?.({ state: 'built', ms: Date.now() - started });
}

type Options = ReturnType<typeof serveSchema.parse>;

class Shell implements MarketDataServer {
  readonly where: string;
  readonly #store: Store;
  readonly #o: Options;
  readonly #cache: AnswerCache | undefined;
  readonly #unwatch: (() => Promise<void>) | undefined;
  readonly #gate: Gate;
  readonly #filler: Filler | undefined;
  readonly #metrics: ReturnType<typeof serveMetrics>;
  readonly #ctx: ApiContext;
  readonly #app: FastifyInstance;
  readonly #allowed: ((presented: string | undefined) => boolean) | undefined;
  #closing: Promise<void> | undefined;
  #stopping = false;

  static async start(store: Store, o: Options, preloadOptions: PreloadOptions, routes: readonly ApiRoute[]): Promise<Shell> {
    await buildIndex(store, o);
    let cache: AnswerCache | undefined;
    let unwatch: (() => Promise<void>) | undefined;
    if (o.cacheBytes > 0 && store.watchChanges !== undefined) {
      const c = new AnswerCache(o.cacheBytes);
      unwatch = await store.watchChanges(() => c.clear());
      cache = c;
    }
    return new Shell(store, o, preloadOptions, routes, cache, unwatch);
  }

  private constructor(store: Store, o: Options, preloadOptions: PreloadOptions, routes: readonly ApiRoute[], cache: AnswerCache | undefined, unwatch: (() => Promise<void>) | undefined) {
    this.#store = store;
    this.where = store.where;
    this.#o = o;
    this.#cache = cache;
    this.#unwatch = unwatch;
    this.#gate = new Gate(o.concurrency ?? defaultConcurrency(store.kind), o.queue);
    this.#ctx = { store, now: o.now ?? (() => new Date()) };
    this.#allowed = o.token === undefined ? undefined : tokenCheck(o.token);
    this.#metrics = serveMetrics(() => ({ inFlight: this.#gate.running, queued: this.#gate.waiting, cacheBytes: cache?.bytes ?? 0, cacheEntries: cache?.size ?? 0 }));
    const logger = o.log === undefined ? undefined : serveLogger(o.log);
    this.#filler = o.fill
      ? new Filler(preloadOptions, {
          onStart: (w) => logger?.info({ fill: w }, 'fill started'),
          onEnd: (w, error) => {
            this.#metrics.fills.inc({ kind: w.kind, result: error === undefined ? 'done' : 'failed' });
            if (error === undefined) logger?.info({ fill: w }, 'fill done');
            else logger?.warn({ fill: w, error: error instanceof Error ? error.message : 'unknown' }, 'fill failed');
          },
        })
      : undefined;
    const fastifyOptions: FastifyServerOptions = {
      ...(logger === undefined ? {} : { loggerInstance: logger }),
      // One line a request, ours (onResponse), rather than fastify's two.
      logController: new LogController({ disableRequestLogging: true }),
      genReqId: newRequestId,
      requestIdHeader: false,
      // A path parameter as long as a URL may be (find-my-way's default, 100, would 404 a long one).
      routerOptions: { maxParamLength: o.maxUrlBytes },
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      // The router's own refusals (a malformed %-escape, a parameter too long) in the provider's
      // shape too, never echoing the URL (it may hold a key).
      frameworkErrors: (_error, request, raw) => {
        const tooLong = Buffer.byteLength(request.url) > o.maxUrlBytes;
        void (raw as unknown as FastifyReply)
          .code(tooLong ? 414 : 400)
          .type(JSON_TYPE)
          .send(errorBody(tooLong ? 414 : 400, request.id, tooLong ? urlTooLong(o.maxUrlBytes) : 'Malformed request URL (a bad %-escape?).'));
      },
    };
    this.#app = Fastify(fastifyOptions);
    this.#routes(routes);
  }

  get caching(): boolean {
    return this.#cache !== undefined;
  }

  async listen(): Promise<{ url: string }> {
    const address = await this.#app.listen({ host: this.#o.host, port: this.#o.port });
    return { url: address };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping = true;
      // Stops accepting, answers 503 to new requests on open sockets, waits for those in flight.
      await this.#app.close();
      await this.#filler?.close();
      await this.#unwatch?.();
      await this.#store.close();
    })();
    return this.#closing;
  }

  #routes(routes: readonly ApiRoute[]): void {
    const app = this.#app;
    const o = this.#o;
    const m = this.#metrics;

    // The hooks take callbacks rather than being async: no promise per request on the hot path
    // of cached answers (the bench's cached row).
    app.addHook('onRequest', (request, reply, done) => {
      if (Buffer.byteLength(request.url) > o.maxUrlBytes) {
        void reply.code(414).type(JSON_TYPE).send(errorBody(414, request.id, urlTooLong(o.maxUrlBytes)));
        return;
      }
      const q = request.query as Record<string, unknown> | undefined;
      if (this.#allowed !== undefined && request.routeOptions.url !== '/healthz' && !this.#allowed(presentedKey(request.headers.authorization, q?.['apiKey']))) {
        void reply
          .code(401)
          .type(JSON_TYPE)
          .send(errorBody(401, request.id, 'Unknown API Key: send the server\'s token as "Authorization: Bearer <token>" or "?apiKey=<token>".'));
        return;
      }
      done();
    });

    // A keep-alive socket whose request was in flight when the close began is closed after its
    // answer: the server's close waits for every socket.
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (this.#stopping) reply.header('connection', 'close');
      done(null, payload);
    });

    const logging = o.log !== undefined;
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unknown';
      m.requests.inc({ route, status: String(reply.statusCode) });
      m.duration.observe({ route }, reply.elapsedTime / 1000);
      if (logging) request.log.info({ method: request.method, url: safeUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
      done();
    });

    app.setNotFoundHandler(async (request, reply) => {
      return reply.code(404).type(JSON_TYPE).send(errorBody(404, request.id, `No such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}`));
    });

    app.setErrorHandler(async (error: unknown, request, reply) => {
      const status = (error as { statusCode?: unknown }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return reply.code(status).type(JSON_TYPE).send(errorBody(status, request.id, error instanceof Error ? error.message : 'Bad request'));
      }
      request.log.error({ err: error }, 'unexpected error');
      return reply.code(500).type(JSON_TYPE).send(errorBody(500, request.id, 'Internal server error.'));
    });

    // Cheap: no store read, no gate.
    app.get('/healthz', async (request, reply) => reply.type(JSON_TYPE).send(JSON.stringify({ status: 'OK', request_id: request.id })));

    app.get('/metrics', async (_request, reply) => reply.type(m.registry.contentType).send(await m.registry.metrics()));

    for (const route of routes) {
      app.get(route.path, async (request, reply) => this.#answer(route, request, reply));
    }
  }

  async #answer(route: ApiRoute, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const m = this.#metrics;
    const query = lastValues(request.query as Record<string, unknown> | undefined);
    const baseUrl = `${request.protocol}://${request.host}`;
    const cache = this.#cache;
    // The URL as the client asked it, apiKey left out and the parameters sorted; with the host,
    // since next_url is built on it.
    const key = cache === undefined ? '' : cacheKey(baseUrl, request.url, query);
    if (cache !== undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) {
        m.cacheHits.inc();
        // Straight to the socket, the three parts in one corked write: no copy of the answer
        // (measured: joining them into one buffer per hit cost a tenth of the cached rate).
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': hit.head.length + request.id.length + hit.tail.length, ...(this.#stopping && { connection: 'close' }) });
        res.cork();
        res.write(hit.head);
        res.write(request.id, 'latin1');
        res.end(hit.tail);
        return reply;
      }
      m.cacheMisses.inc();
    }
    const generation = cache?.generation ?? 0;
    const req: ApiRequest = { params: request.params as Record<string, string>, query, baseUrl, requestId: request.id };
    let answer: ApiAnswer;
    try {
      answer = await this.#withinLimit(route, req);
    } catch (error) {
      return this.#failed(error, request, reply);
    }
    const json = encodeBody(answer.body);
    if (cache !== undefined && answer.status === 200) {
      const parts = splitAnswer(json, request.id);
      if (parts !== undefined) cache.set(key, parts, generation);
    }
    return reply.code(answer.status).type(JSON_TYPE).send(json);
  }

  /** The answer, or TimeLimitError once the time limit passes (queued: it never runs; running: its result is dropped). */
  async #withinLimit(route: ApiRoute, req: ApiRequest): Promise<ApiAnswer> {
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(new TimeLimitError()), this.#o.timeLimitMs);
    const work = this.#compute(route, req, limit.signal);
    // Settled later than the race when the limit passes first: nobody waits for it then.
    work.catch(() => {});
    try {
      return await Promise.race([work, rejectOnAbort(limit.signal)]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #compute(route: ApiRoute, req: ApiRequest, signal: AbortSignal): Promise<ApiAnswer> {
    const read = (): Promise<ApiAnswer> =>
      this.#gate.run(async () => {
        this.#metrics.storeReads.inc();
        return route.handle(this.#ctx, req);
      }, signal);
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof NotStoredError) || this.#filler === undefined) throw error;
      try {
        // Outside the gate: a download must not hold a slot of the answers.
        await this.#filler.ensure(error.missing);
      } catch (fillError) {
        throw new ApiError(404, `${error.message} Filling it failed: ${fillError instanceof Error ? fillError.message : String(fillError)}`);
      }
      signal.throwIfAborted();
      try {
        return await read();
      } catch (again) {
        if (!(again instanceof NotStoredError)) throw again;
        // Filled and still missing: the listing has no file for a day of it. Not filled again
        // before REFILL_AFTER_MS (a late file is found then), so no listing per request.
        throw new ApiError(404, `${again.message}. --fill preloaded it within the last ${REFILL_AFTER_MS / 60_000} minutes, and the bucket's listing has no file for some of its days (a market holiday, or a file not published yet).`);
      }
    }
  }

  #failed(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const m = this.#metrics;
    const send = (status: number, message: string): FastifyReply => reply.code(status).type(JSON_TYPE).send(errorBody(status, request.id, message));
    if (error instanceof ShedError) {
      m.shed.inc({ reason: 'queue' });
      reply.header('retry-after', '1');
      return send(503, 'The server is busy (every answer slot and the queue are taken): retry shortly.');
    }
    if (error instanceof TimeLimitError) {
      m.shed.inc({ reason: 'time_limit' });
      reply.header('retry-after', '1');
      return send(503, `No answer within the time limit (${this.#o.timeLimitMs} ms): retry shortly.`);
    }
    if (error instanceof ApiError) return send(error.status, error.message);
    if (error instanceof PreloadError && error.code === 'ERR_STORE') {
      request.log.error({ code: error.code, error: error.message }, 'store error');
      reply.header('retry-after', '5');
      return send(503, 'The store is unavailable: retry shortly.');
    }
    request.log.error({ err: error }, 'unexpected error');
    return send(500, 'Internal server error.');
  }
}

/** The provider's request ids are 32 hex digits. */
function newRequestId(): string {
  return randomUUID().replaceAll('-', '');
}

/** The provider's error shape: `NOT_FOUND` as the status word of a 404, `ERROR` else. */
function errorBody(status: number, requestId: string, message: string): string {
  return JSON.stringify({ status: status === 404 ? 'NOT_FOUND' : 'ERROR', request_id: requestId, error: message });
}

function urlTooLong(max: number): string {
  return `The request URL is longer than ${max} bytes.`;
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')), { once: true }));
}

/** Query parameters as the answers take them: the last value of a repeated one, apiKey left out. */
function lastValues(q: Record<string, unknown> | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (q === undefined) return out;
  for (const [k, v] of Object.entries(q)) {
    if (k === 'apiKey') continue;
    const last: unknown = Array.isArray(v) ? v.at(-1) : v;
    if (typeof last === 'string') out[k] = last;
  }
  return out;
}

function cacheKey(baseUrl: string, url: string, query: Record<string, string | undefined>): string {
  const path = url.split('?', 1)[0] ?? '';
  const sorted = Object.keys(query)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(query[k] ?? '')}`)
    .join('&');
  return `${baseUrl}${path}?${sorted}`;
}

/** The URL as logged: the token never appears in a log line. */
export function safeUrl(url: string): string {
  return url.replace(/([?&]apiKey=)[^&#]*/gi, '$1***');
}

/** Fastify's logger: pino JSON lines through `write`, as the CLI's logs (time ISO, level labels, pid, hostname). */
function serveLogger(write: (line: string) => void): ReturnType<typeof pino> {
  return pino(
    {
      base: { pid: process.pid, hostname: hostname(), command: 'serve' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Nothing of a request's headers is logged; belt and braces for a logger given the request.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.url', 'url'], censor: (v, path) => (path.at(-1) === 'url' && typeof v === 'string' ? safeUrl(v) : '***') },
    },
    { write },
  );
}
