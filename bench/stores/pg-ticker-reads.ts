/**
 * `npm run bench -- pg-ticker-reads [--days 300]`: the PostgreSQL store's readBars of random
 * tickers on a whole-market store (`--days` day files of 11,000 tickers, through the store's own
 * merge, one file a transaction, without the index by ticker as a large `--all` leaves it), day by
 * day; then Store.buildReadIndex's build (what `serve` does before it listens), the reads along it
 * before and after the VACUUM it ends with (the visibility map an index-only scan needs), their plans (`EXPLAIN
 * (ANALYZE, BUFFERS)`), the sizes, what the index costs 10 more whole-market days kept up, and a
 * day answer's results built in node against readBarsJson's. On one embedded PostgreSQL
 * (test/fixtures/postgres.ts). Prints only.
 */
import { parseArgs } from 'node:util';
import { Db } from '../../src/store/postgres/db.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { completeFiles } from '../../src/store/postgres/merge.js';
import { ensureSchema } from '../../src/store/postgres/schema.js';
import { dropTickerIndex, INDEX_VALID_SQL, tickerIndexDdl } from '../../src/store/postgres/sql/ticker-index.js';
import type { JobSpec } from '../../src/store/types.js';
import { startPostgres } from '../../test/fixtures/postgres.js';
import { dayFile, tickers, weekdays } from './sqlite-bulk-data.js';

const { values: flags } = parseArgs({ options: { days: { type: 'string', default: '300' } } });
const DAYS = Number(flags.days);
if (!Number.isInteger(DAYS) || DAYS < 20) throw new Error(`Expected --days to be an integer >= 20, got ${flags.days}`);
const DATASET = 'us_stocks_sip/day_aggs_v1';
const JOB: JobSpec = { job: `${DATASET}/1d/*`, dataset: DATASET, interval: '1d', tickers: ['*' + DATASET], all: true };
const names = tickers(11_000);
const days = weekdays(DAYS + 20);
const first = days[0] as string;
const last = days[DAYS - 1] as string;
const out = (s: string): void => void process.stdout.write(`${s}\n`);
const median = (xs: number[]): string => ([...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN).toFixed(2);

const pg = await startPostgres();
try {
  const url = await pg.freshDatabase();
  const db = new Db(url, 1);
  await ensureSchema(db);
  await dropTickerIndex(db);
  const ingest = async (from: number, to: number): Promise<number> => {
    const t = performance.now();
    for (let f = from; f < to; f++) {
      const day = days[f] as string;
      await completeFiles(db, 1, [{ job: JOB, file: { key: `k/${day}`, day, size: 1, etag: 'e', lastModified: undefined }, rows: [], columns: dayFile(names, day, f) }]);
    }
    return performance.now() - t;
  };
  out(`ingest ${DAYS} days without the index: ${(await ingest(0, DAYS)).toFixed(0)} ms`);
  await db.query('ANALYZE bars');
  const store = await openPostgresStore(url);
  const timeReads = async (label: string): Promise<void> => {
    const xs: number[] = [];
    for (let i = 0; i < 61; i++) {
      const t0 = performance.now();
      await store.readBars(names[(i * 7919) % names.length] as string, '1d', first, last);
      xs.push(performance.now() - t0);
    }
    xs.sort((a, b) => a - b);
    out(`${label}: readBars of random tickers (each its first read), median ${xs[30]?.toFixed(2)} ms, max ${xs[60]?.toFixed(2)} ms`);
  };
  const explain = async (label: string): Promise<void> => {
    // The statement readBars sends for this window (sql/bars.ts), as the store chooses it now.
    const [span] = await db.query<{ indexed: boolean }>(`SELECT ${INDEX_VALID_SQL} AS indexed`);
    const calendar: string[] = [];
    for (let ms = Date.parse(first); ms <= Date.parse(last); ms += 86_400_000) calendar.push(new Date(ms).toISOString().slice(0, 10));
    const cols = 'time, open, high, low, close, volume, transactions';
    const [sql, values] =
      span?.indexed === true
        ? [`SELECT DISTINCT ON (time) ${cols} FROM bars WHERE interval = '1d' AND symbol = $1 AND day >= $2 AND day <= $3 AND ${INDEX_VALID_SQL} ORDER BY time, day DESC`, ['TSLA', first, last]]
        : [`SELECT DISTINCT ON (time) ${cols} FROM bars WHERE interval = $1 AND day = ANY($2::text[]) AND symbol = $3 ORDER BY time, day DESC`, ['1d', calendar, 'TSLA']];
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, values);
    out(`${label}:\n${plan.map((r) => `  ${r['QUERY PLAN'].slice(0, 160)}`).join('\n')}`);
  };
  await timeReads('without the index (day by day)');
  await explain('its plan');
  out(`10 more days without the index: ${(await ingest(DAYS, DAYS + 10)).toFixed(0)} ms`);
  // buildReadIndex's two steps, timed apart: the build, then the VACUUM it ends with.
  const c0 = performance.now();
  await db.query(tickerIndexDdl(true));
  out(`CREATE INDEX CONCURRENTLY: ${(performance.now() - c0).toFixed(0)} ms`);
  await timeReads('along the index, before a VACUUM');
  const v0 = performance.now();
  await db.query('VACUUM (ANALYZE) bars');
  out(`VACUUM (ANALYZE) bars: ${(performance.now() - v0).toFixed(0)} ms`);
  await timeReads('along the index, after it (as buildReadIndex leaves it)');
  if ((await store.buildReadIndex()) !== false) throw new Error('buildReadIndex built what the bench built');
  await explain('its plan');
  const [size] = await db.query<{ t: string; i: string }>("SELECT pg_size_pretty(pg_relation_size('bars')) AS t, pg_size_pretty(pg_relation_size('bars_by_ticker')) AS i");
  out(`bars ${size?.t}, the index ${size?.i}`);
  // A day answer's results (serve): readBars, the provider's objects and JSON.stringify, against
  // the text readBarsJson has the server build; alternated ticker by ticker, each read once before.
  const shape = { fields: [['v', 'volume'], ['o', 'open'], ['c', 'close'], ['h', 'high'], ['l', 'low'], ['t', 'time'], ['n', 'transactions']] as const, desc: false, limit: 50_000 };
  const viaObjects: number[] = [];
  const viaServer: number[] = [];
  for (let i = 0; i < 61; i++) {
    const ticker = names[(i * 104_729) % names.length] as string;
    await store.readBars(ticker, '1d', first, last);
    let t0 = performance.now();
    const bars = await store.readBars(ticker, '1d', first, last);
    const a = JSON.stringify(bars.map((b) => ({ v: b.volume, o: b.open, c: b.close, h: b.high, l: b.low, t: b.time, ...(b.transactions === null ? {} : { n: b.transactions }) })));
    viaObjects.push(performance.now() - t0);
    t0 = performance.now();
    const b = await store.readBarsJson?.(ticker, '1d', first, last, shape);
    viaServer.push(performance.now() - t0);
    if (b === undefined || JSON.stringify(JSON.parse(b.json)) !== a) throw new Error(`readBarsJson of ${ticker} is not readBars' bars`);
  }
  out(`a day answer's results of random tickers: readBars + objects + JSON.stringify median ${median(viaObjects)} ms, readBarsJson ${median(viaServer)} ms`);
  out(`10 more days with the index kept up: ${(await ingest(DAYS + 10, DAYS + 20)).toFixed(0)} ms`);
  await store.close();
  await db.end();
} finally {
  await pg.close();
}
