// The store's layout: its tables, the version they are at, the migrations that bring an older
// store up to it, and the advisory lock keys every process agrees on.
import { StoreError } from '../../errors.js';
import type { Db } from './db.js';

/** The schema version this code reads and writes. A store of another version is refused. */
export const SCHEMA_VERSION = 3;

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
]);

// First key of every advisory lock this library takes (two-int4 form); the second is a process
// id (positive), 0 for schema creation, -1 for replacing corporate actions (actions.ts) or
// REGISTRY_LOCK. 'pmd' in ASCII: unlikely to collide with another application's.
export const LOCK_NAMESPACE = 0x706d64;
const SCHEMA_LOCK = 0;

/**
 * First key of the transaction lock an --all merge takes on its (interval, day) (second key: its
 * hash): a namespace of its own, so that a hash never meets a process's lock.
 */
export const DAY_LOCK_NAMESPACE = 0x706d65;

/**
 * Second key of the lock between registering a process and clearing a job's progress: a
 * registration holds it shared until its process row and session lock are committed, a clear
 * exclusive from its check of the live processes to its commit (clear.ts).
 */
export const REGISTRY_LOCK = -2;

/**
 * Creates the tables of a fresh store, or brings an older one up to {@link SCHEMA_VERSION}, under a
 * transaction-scoped advisory lock: of several processes starting at once, one creates the tables
 * and the others wait and find them.
 * @throws {StoreError} a store of a newer (or unreadable) version, or no migration to a version.
 */
export async function ensureSchema(db: Db): Promise<void> {
  await db.transaction(async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, SCHEMA_LOCK]);
    await c.query('CREATE TABLE IF NOT EXISTS pmd_meta (key text PRIMARY KEY, value text NOT NULL)');
    const found = await c.query<{ value: string }>('SELECT value FROM pmd_meta WHERE key = $1', ['schema_version']);
    const raw = found.rows[0]?.value;
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
      await c.query(step);
    }
    await c.query(
      'INSERT INTO pmd_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ['schema_version', String(SCHEMA_VERSION)],
    );
  });
}
