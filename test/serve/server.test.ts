// The shell on its own (src/serve/server.ts), with routes of the test's own (the answers are
// tested with theirs): token, cache and its invalidation, load shedding, the time limit, bad
// input, the error shape, logs. A real SQLite store in a temp directory, real HTTP on loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, InvalidOptionError, type MarketDataServer } from '../../src/index.js';
import { ApiError, type ApiRoute } from '../../src/serve/api/types.js';
import type { ServeOptions } from '../../src/serve/options.js';
import { waitFor } from '../e2e/helpers.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pmd-serve-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const TOKEN = 'known-test-token-5d1c';
let server: MarketDataServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A gate a route waits on until the test opens it. */
function latch(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A route that waits until the test opens its gate; `started` counts the answers begun. */
function blockingRoute(path: string): { route: ApiRoute; open: () => void; started: () => number } {
  const gate = latch();
  let started = 0;
  const route: ApiRoute = {
    path,
    async handle(_ctx, req) {
      started += 1;
      await gate.wait;
      return { status: 200, body: { status: 'OK', request_id: req.requestId, n: req.params['n'] } };
    },
  };
  return { route, open: gate.open, started: () => started };
}

/** Counts its calls: each call is an answer computed, not served from the cache. */
function countingRoute(): ApiRoute & { calls: number } {
  const route = {
    calls: 0,
    path: '/count/:name',
    async handle(ctx: Parameters<ApiRoute['handle']>[0], req: Parameters<ApiRoute['handle']>[1]) {
      route.calls += 1;
      // A real store read, as an answer does.
      const symbols = await ctx.store.listSymbols('1d');
      return { status: 200, body: { status: 'OK', request_id: req.requestId, name: req.params['name'], query: req.query, symbols, calls: route.calls, next_url: `${req.baseUrl}/count/next` } };
    },
  };
  return route;
}

async function start(routes: readonly ApiRoute[], options: ServeOptions = {}, dir = join(root, `c${Math.random()}`)): Promise<{ url: string; cacheDir: string }> {
  server = await createServer({ cacheDir: dir, port: 0, routes, ...options }, {});
  const { url } = await server.listen();
  return { url, cacheDir: dir };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
}

function expectErrorShape(body: Record<string, unknown>, status: number): void {
  expect(body['status']).toBe(status === 404 ? 'NOT_FOUND' : 'ERROR');
  expect(body['request_id']).toMatch(/^[0-9a-f]{32}$/);
  expect(typeof body['error']).toBe('string');
  expect(Object.keys(body).sort()).toEqual(['error', 'request_id', 'status']);
}

describe('token', () => {
  it('refuses a request without the token or with a wrong one, takes it as Bearer or apiKey, never on /healthz, and never logs it', async () => {
    const lines: string[] = [];
    const route = countingRoute();
    const { url } = await start([route], { token: TOKEN, log: (l) => lines.push(l) });

    const missing = await get(`${url}/count/a`);
    expect(missing.status).toBe(401);
    expectErrorShape(missing.body, 401);
    const wrong = await get(`${url}/count/a?apiKey=${TOKEN}x`);
    expect(wrong.status).toBe(401);
    const wrongBearer = await get(`${url}/count/a`, { authorization: `Bearer ${TOKEN.slice(0, -1)}` });
    expect(wrongBearer.status).toBe(401);
    expect(route.calls).toBe(0);

    const bearer = await get(`${url}/count/a`, { authorization: `Bearer ${TOKEN}` });
    expect(bearer.status).toBe(200);
    const query = await get(`${url}/count/b?limit=5&apiKey=${TOKEN}`);
    expect(query.status).toBe(200);
    // The answer never sees the key.
    expect(query.body['query']).toEqual({ limit: '5' });
    expect((await get(`${url}/healthz`)).status).toBe(200);
    expect((await get(`${url}/metrics`)).status).toBe(401);

    await server?.close();
    server = undefined;
    const log = lines.join('');
    expect(log).toContain('/count/b?limit=5&apiKey=***');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(TOKEN.slice(0, -1));
  });

  it('refuses to listen on an address other than loopback without a token', async () => {
    await expect(createServer({ cacheDir: join(root, 'open'), host: '0.0.0.0', routes: [] }, {})).rejects.toThrow(InvalidOptionError);
    // The environment's token counts.
    server = await createServer({ cacheDir: join(root, 'open'), host: '0.0.0.0', port: 0, routes: [] }, { PRELOAD_SERVE_TOKEN: TOKEN });
  });
});

describe('cache', () => {
  it('answers a repeated request from memory with its own request_id, then computes it again once another connection commits to the store', async () => {
    const route = countingRoute();
    const { url, cacheDir } = await start([route]);
    const first = await get(`${url}/count/x?b=2&a=1`);
    // The same request, its parameters in another order and with an apiKey: the same answer.
    const second = await get(`${url}/count/x?a=1&b=2&apiKey=whatever`);
    expect(route.calls).toBe(1);
    expect(second.body['request_id']).not.toBe(first.body['request_id']);
    expect({ ...second.body, request_id: '' }).toEqual({ ...first.body, request_id: '' });
    // Another URL is another answer.
    await get(`${url}/count/y`);
    expect(route.calls).toBe(2);
    // A hit is counted once, as any answer.
    expect(await metric(url, 'preload_market_data_serve_requests_total{route="/count/:name",status="200"}')).toBe(3);
    expect(await metric(url, 'preload_market_data_serve_cache_hits_total')).toBe(1);

    // Another connection (as another process's preload or sync) commits.
    const other = new Database(join(cacheDir, 'market-data.sqlite'));
    other.exec('CREATE TABLE IF NOT EXISTS test_commit (x); INSERT INTO test_commit VALUES (1)');
    other.close();
    await waitForAsync(async () => ((await get(`${url}/count/x?a=1&b=2`)).body['calls'] as number) > 1, 3000);
    // Computed once more (x again), and cached again.
    expect(route.calls).toBe(3);
    await get(`${url}/count/x?a=1&b=2`);
    expect(route.calls).toBe(3);
  });

  it('keeps answers under the byte bound, and none when it is 0', async () => {
    const route = countingRoute();
    const { url } = await start([route], { cacheBytes: 0 });
    await get(`${url}/count/x`);
    await get(`${url}/count/x`);
    expect(route.calls).toBe(2);
    expect(server?.caching).toBe(false);
  });
});

describe('load', () => {
  it('sheds past the queue at once with 503 and Retry-After, and answers what it took once the slots free', async () => {
    const blocking = blockingRoute('/block/:n');
    const { url } = await start([blocking.route], { concurrency: 2, queue: 3, cacheBytes: 0 });
    const held = [1, 2, 3, 4, 5].map((n) => get(`${url}/block/${n}`));
    await waitFor(() => blocking.started() === 2, 3000);
    // Two computing, three waiting (the queue is full): the next one is refused while they all still wait.
    await waitForAsync(async () => (await metric(url, 'preload_market_data_serve_queued')) === 3, 3000);
    const shed = await get(`${url}/block/6`);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expectErrorShape(shed.body, 503);
    // /healthz and /metrics bypass the gate.
    expect((await get(`${url}/healthz`)).status).toBe(200);
    expect(blocking.started()).toBe(2);
    blocking.open();
    const answers = await Promise.all(held);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.map((a) => a.body['n'])).toEqual(['1', '2', '3', '4', '5']);
    expect(await metric(url, 'preload_market_data_serve_shed_total{reason="queue"}')).toBe(1);
  });

  it('answers 503 with Retry-After once the time limit passes, while the answer is still computing, and drops the queued one unrun', async () => {
    const slow = blockingRoute('/slow/:n');
    const { url } = await start([slow.route], { concurrency: 1, queue: 5, timeLimitMs: 300, cacheBytes: 0 });
    const [running, queued] = await Promise.all([get(`${url}/slow/1`), get(`${url}/slow/2`)]);
    for (const r of [running, queued]) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expectErrorShape(r.body, 503);
    }
    // The route was never released: the answers came from the time limit. The queued one never ran.
    expect(slow.started()).toBe(1);
    slow.open();
    await waitForAsync(async () => (await metric(url, 'preload_market_data_serve_in_flight')) === 0, 3000);
    expect(slow.started()).toBe(1);
    expect(await metric(url, 'preload_market_data_serve_shed_total{reason="time_limit"}')).toBe(2);
  });
});

describe('bad input', () => {
  it('answers every bad request in the error shape, never with internals, and keeps serving', async () => {
    const lines: string[] = [];
    const routes: ApiRoute[] = [
      {
        path: '/refuse/:what',
        async handle() {
          throw new ApiError(400, 'Bad what.');
        },
      },
      {
        path: '/crash',
        async handle() {
          throw new TypeError('secret internal detail at /some/path');
        },
      },
    ];
    const { url } = await start(routes, { log: (l) => lines.push(l) });
    const cases: Array<[string, number]> = [
      [`/refuse/${'a'.repeat(3000)}`, 414],
      [`/no/such/endpoint?q=${'a'.repeat(3000)}`, 414],
      ['/no/such/endpoint', 404],
      ['/refuse/x', 400],
      ['/refuse/%E0%A4%A', 400],
      ['/crash', 500],
    ];
    for (const [path, status] of cases) {
      const r = await get(`${url}${path}`);
      expect(r.status, path).toBe(status);
      expectErrorShape(r.body, status);
      expect(JSON.stringify(r.body)).not.toContain('secret internal detail');
    }
    expect((await get(`${url}/refuse/x`)).body['error']).toBe('Bad what.');
    // The 500 is logged for the operator, with the request id the client got.
    expect(lines.some((l) => l.includes('secret internal detail'))).toBe(true);
    expect((await get(`${url}/healthz`)).status).toBe(200);
  });

  it('gives next_url the host the client reached, and caches per host', async () => {
    const route = countingRoute();
    const { url } = await start([route]);
    const port = new URL(url).port;
    const a = await get(`http://127.0.0.1:${port}/count/z`);
    const b = await get(`http://localhost:${port}/count/z`);
    expect(a.body['next_url']).toBe(`http://127.0.0.1:${port}/count/next`);
    expect(b.body['next_url']).toBe(`http://localhost:${port}/count/next`);
  });
});

/** A value of the server's /metrics (0 when absent). */
async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function waitForAsync(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
