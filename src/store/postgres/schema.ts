// The store's layout: its tables, the version they are at, the migrations that bring an older
// store up to it, and the liveness function every process asks who is alive.
import { StoreError } from '../../errors.js';
import type { Db } from './db.js';
import { FINDINGS_TABLE, tableExists } from './sql/findings.js';
import { LOCK_NAMESPACE, lockSchema } from './sql/locks.js';
import { applyDdl, createMeta, functionExists, readSchemaVersion, writeSchemaVersion } from './sql/schema.js';
import { buildAtOpen } from './sql/ticker-index.js';

/** The schema version this code reads and writes. A store of another version is refused. */
export const SCHEMA_VERSION = 4;

/**
 * Migrations keyed by the version they bring the store to, applied in order from the store's
 * version. A later version adds an entry here (and bumps SCHEMA_VERSION); never edit a shipped one.
 */
export const MIGRATIONS: ReadonlyMap<number, string> = new Map([
  [
    1,
    `
CREATE TABLE bars (
  symbol text NOT NULL,
  interval text NOT NULL,
  time bigint NOT NULL,
  -- The day file the bar came from ('YYYY-MM-DD'): a window is a range of files, whatever the time zone.
  day text NOT NULL,
  open float8 NOT NULL,
  high float8 NOT NULL,
  low float8 NOT NULL,
  close float8 NOT NULL,
  volume float8 NOT NULL,
  transactions bigint,
  PRIMARY KEY (symbol, interval, time)
);
CREATE INDEX bars_by_day ON bars (symbol, interval, day);

CREATE TABLE ingested_days (
  symbol text NOT NULL,
  interval text NOT NULL,
  day text NOT NULL,
  dataset text NOT NULL,
  key text NOT NULL,
  etag text NOT NULL,
  rows integer NOT NULL,
  PRIMARY KEY (symbol, interval, day)
);

CREATE TABLE coverage (
  symbol text NOT NULL,
  interval text NOT NULL,
  start text NOT NULL,
  "end" text NOT NULL,
  PRIMARY KEY (symbol, interval, start, "end")
);

CREATE TABLE jobs (
  job text PRIMARY KEY,
  dataset text NOT NULL,
  interval text NOT NULL,
  symbols text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE processes (
  id serial PRIMARY KEY,
  jobs text[] NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  files_done integer NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0
);

CREATE TABLE job_files (
  job text NOT NULL,
  key text NOT NULL,
  day text NOT NULL,
  size bigint NOT NULL,
  etag text NOT NULL,
  last_modified text,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
  -- Set while claimed: the processes row of the claimant.
  owner integer,
  claimed_at timestamptz,
  done_at timestamptz,
  done_by integer,
  error_code text,
  error_message text,
  PRIMARY KEY (job, key)
);
-- claim() scans the files still to do of a job, oldest day first.
CREATE INDEX job_files_todo ON job_files (job, day, key) WHERE state IN ('pending', 'claimed');

CREATE TABLE rate_limits (
  name text PRIMARY KEY,
  -- GCRA: the earliest start of the next slot granted to anyone.
  next_at timestamptz NOT NULL
);
`,
  ],
  [
    2,
    `
-- Corporate actions from the provider's REST API, as given (duplicates included: they are
-- dropped when reading, with a note), and when each ticker's were fetched.
CREATE TABLE splits (
  ticker text NOT NULL,
  execution_date text NOT NULL,
  split_from float8 NOT NULL,
  split_to float8 NOT NULL,
  adjustment_type text NOT NULL,
  historical_adjustment_factor float8,
  id text NOT NULL
);
CREATE INDEX splits_by_ticker ON splits (ticker, execution_date);

CREATE TABLE dividends (
  ticker text NOT NULL,
  ex_dividend_date text NOT NULL,
  cash_amount float8 NOT NULL,
  currency text,
  distribution_type text,
  frequency integer,
  pay_date text,
  record_date text,
  declaration_date text,
  split_adjusted_cash_amount float8,
  historical_adjustment_factor float8,
  id text NOT NULL
);
CREATE INDEX dividends_by_ticker ON dividends (ticker, ex_dividend_date);

CREATE TABLE actions_fetched (
  ticker text PRIMARY KEY,
  fetched_at timestamptz NOT NULL
);
`,
  ],
  [
    3,
    `
-- Day-major bars: a whole-market day file (~11,000 tickers) lands in one place of the primary key
-- instead of ~11,000 (one page write each, and a full-page image in the WAL after every
-- checkpoint). A bar's time belongs to one day file, so the key is as unique as (symbol, interval,
-- time) was. A ticker's read probes the key once per day of its window (store.ts); no index leads
-- with the symbol, so bar_symbols lists the tickers with bars (written by every merge). The rows
-- are copied in key order and the key built once, in this migration's transaction. The key's text
-- columns compare bytewise (COLLATE "C"): every row of a load is a key insert, and a libc collation
-- (even C.UTF-8) compares through strcoll. UTF-8 bytes order as code points.
CREATE TABLE bars_v3 (
  symbol text COLLATE "C" NOT NULL,
  interval text COLLATE "C" NOT NULL,
  time bigint NOT NULL,
  day text COLLATE "C" NOT NULL,
  open float8 NOT NULL,
  high float8 NOT NULL,
  low float8 NOT NULL,
  close float8 NOT NULL,
  volume float8 NOT NULL,
  transactions bigint
);
INSERT INTO bars_v3 (symbol, interval, time, day, open, high, low, close, volume, transactions)
  SELECT symbol, interval, time, day, open, high, low, close, volume, transactions FROM bars ORDER BY interval, day, symbol, time;
DROP TABLE bars;
ALTER TABLE bars_v3 RENAME TO bars;
ALTER TABLE bars ADD CONSTRAINT bars_pkey PRIMARY KEY (interval, day, symbol, time);

CREATE TABLE bar_symbols (
  interval text COLLATE "C" NOT NULL,
  symbol text COLLATE "C" NOT NULL,
  PRIMARY KEY (interval, symbol)
);
INSERT INTO bar_symbols (interval, symbol) SELECT DISTINCT interval, symbol FROM bars;
`,
  ],
  [
    4,
    `
-- When the whole market's corporate actions were listed at once (actions --all): one row, standing
-- for every stock ticker that actions_fetched has no newer row for (actions.ts).
CREATE TABLE actions_market (
  market text PRIMARY KEY,
  fetched_at timestamptz NOT NULL
);
`,
  ],
]);

/**
 * The ids of the live processes, given the lease in ms: a process is alive while its session holds
 * its advisory lock (PostgreSQL drops it with the connection: kill -9, power cut), its heartbeat is
 * younger than the lease (the fallback for a hung process), and it has not ended. Asked as
 * `SELECT id FROM pmd_live_processes($n::int)` by the claims, the counts, a clear and the sweep
 * of staging tables. STABLE: it reads with its caller's snapshot, as the subquery it replaced did;
 * clock_timestamp() measures the lease from now, not from the transaction's start.
 *
 * Not a migration: every open creates it where it is missing (under the schema lock), so a store
 * of this version made by an earlier release gains it without a change of version, and both
 * releases keep opening it. What it answers never changes under this name: a change takes a new one.
 */
export const LIVE_FUNCTION = {
  signature: 'pmd_live_processes(integer)',
  ddl: `
CREATE FUNCTION pmd_live_processes(lease_ms integer) RETURNS TABLE (id integer)
LANGUAGE sql STABLE AS $$
  SELECT p.id FROM processes p
  JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid = ${LOCK_NAMESPACE}::oid AND l.objid = p.id::oid AND l.objsubid = 2
  WHERE p.ended_at IS NULL AND p.heartbeat_at > clock_timestamp() - lease_ms * interval '1 millisecond'
$$`,
};

/**
 * Creates the tables of a fresh store, or brings an older one up to {@link SCHEMA_VERSION}, and
 * the liveness function where it is missing, under a transaction-scoped advisory lock: of several
 * processes starting at once, one creates them and the others wait and find them.
 * @throws {StoreError} a store of a newer (or unreadable) version, or no migration to a version.
 */
export async function ensureSchema(db: Db): Promise<void> {
  await db.transaction(async (c) => {
    await lockSchema(c);
    await createMeta(c);
    const raw = await readSchemaVersion(c);
    const version = raw === undefined ? 0 : Number(raw);
    if (!Number.isInteger(version) || version < 0 || version > SCHEMA_VERSION) {
      throw new StoreError(
        db.where,
        `The store ${db.where} has schema version ${raw}, and this version of preload-market-data reads version ${SCHEMA_VERSION}: upgrade preload-market-data, or use another database`,
      );
    }
    for (let v = version + 1; v <= SCHEMA_VERSION; v++) {
      const step = MIGRATIONS.get(v);
      if (step === undefined) throw new StoreError(db.where, `No migration to schema version ${v}`);
      await applyDdl(c, step);
    }
    if (!(await functionExists(c, LIVE_FUNCTION.signature))) await applyDdl(c, LIVE_FUNCTION.ddl);
    if (!(await tableExists(c, FINDINGS_TABLE.name))) await applyDdl(c, FINDINGS_TABLE.ddl);
    // The index by ticker, on a small store (a large one's is Store.buildReadIndex's: sql/ticker-index.ts).
    await buildAtOpen(c);
    await writeSchemaVersion(c, SCHEMA_VERSION);
  });
}
