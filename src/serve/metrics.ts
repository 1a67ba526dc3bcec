// serve's metrics, in the Prometheus text format on GET /metrics, on a registry of its own (never
// prom-client's global one: a host process may have its own, and tests start several servers).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const PREFIX = 'preload_market_data_serve_';

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  duration: Histogram<'route'>;
  cacheHits: Counter;
  cacheMisses: Counter;
  shed: Counter<'reason'>;
  storeReads: Counter;
  fills: Counter<'kind' | 'result'>;
}

/** The series, with gauges read when scraped (`state`: what the server holds now). */
export function serveMetrics(state: () => { inFlight: number; queued: number; cacheBytes: number; cacheEntries: number }): ServeMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: (s: ReturnType<typeof state>) => number): void =>
    void new Gauge({
      name: `${PREFIX}${name}`,
      help,
      registers,
      collect() {
        this.set(read(state()));
      },
    });
  gauge('in_flight', 'Answers being computed now.', (s) => s.inFlight);
  gauge('queued', 'Requests waiting for a slot to compute their answer.', (s) => s.queued);
  gauge('cache_bytes', 'Bytes held by the answer cache.', (s) => s.cacheBytes);
  gauge('cache_entries', 'Answers held by the answer cache.', (s) => s.cacheEntries);
  return {
    registry,
    requests: new Counter({ name: `${PREFIX}requests_total`, help: 'Requests answered, by route pattern and HTTP status.', labelNames: ['route', 'status'], registers }),
    duration: new Histogram({
      name: `${PREFIX}request_duration_seconds`,
      help: 'Time from the request to its answer, by route pattern.',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    cacheHits: new Counter({ name: `${PREFIX}cache_hits_total`, help: 'Answers sent from the memory cache.', registers }),
    cacheMisses: new Counter({ name: `${PREFIX}cache_misses_total`, help: 'Answers not in the memory cache (computed from the store).', registers }),
    shed: new Counter({
      name: `${PREFIX}shed_total`,
      help: 'Requests answered 503 instead of waiting: queue (the queue was full), time_limit (no answer within the time limit), closing (the server is stopping).',
      labelNames: ['reason'],
      registers,
    }),
    storeReads: new Counter({ name: `${PREFIX}store_reads_total`, help: 'Answers computed from the store (each may read it several times).', registers }),
    fills: new Counter({
      name: `${PREFIX}fills_total`,
      help: 'Preloads of a missing window started by --fill, by what was filled (symbol: one ticker\'s window; market: every ticker of a grouped day, an --all preload) and result.',
      labelNames: ['kind', 'result'],
      registers,
    }),
  };
}
