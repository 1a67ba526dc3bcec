// `export --all` of bars stored as they are exported (day bars; minutes of the extended session),
// by year or in one partition: the store is scanned day by day along its day-major key
// (Store.scanDays) straight into the writer's table. Read per ticker instead, the whole market's
// 5 years cost a seek per ticker and day, ~14 million (README, Export: measured). A SQLite store is
// scanned in a thread of its own (scan-thread.ts); a PostgreSQL store here, its rows arriving over
// the network.
import { startThread } from '../threads.js';
import { adjustmentOf } from '../read/adjusted.js';
import type { Adjust } from '../corporate-actions.js';
import type { JobPlan } from '../plan.js';
import type { Store } from '../store/types.js';
import { ColumnBuilder, scanMessages, type ExportTarget, type ScanMessage } from './columns.js';
import type { BarTable } from './duckdb.js';
import type { ScanThreadData } from './scan-thread.js';
import type { ExportEvent, ExportPartition } from './types.js';

/** Rows a page of the store's scan holds at most. */
const PAGE_ROWS = 65_536;
/** Rows of a batch of columns handed to the writer. */
const BATCH_ROWS = 65_536;

/**
 * True when the plans can be read by one scan: a stored interval as it is exported (day bars, or
 * minutes with no session filter), one window for all, partitions that are not per symbol (those
 * are written by a COPY each, which wants the table in symbol order, as a read per ticker leaves it).
 */
export function canScan(plans: readonly JobPlan[], partition: ExportPartition): boolean {
  const first = plans[0];
  if (first === undefined || partition === 'symbol') return false;
  const asStored = (p: JobPlan): boolean => p.barInterval === p.interval && (p.interval === '1d' || (p.interval === '1m' && p.session === 'extended'));
  return plans.every((p) => asStored(p) && p.interval === first.interval && p.start === first.start && p.end === first.end);
}

/** What a scan appended: rows per ticker id, the years of their session days, and those to write again. */
export interface Scanned {
  rows: Uint32Array;
  years: string[];
  /** Years handed to `onYears` that rows arrived for afterwards (or overlapping files): their files are stale. */
  late: string[];
}

/**
 * Appends every stored row of the plans' tickers (`sid`: their ids) to `table`, adjusted as
 * `adjust` says. Day files that overlap (a time of a ticker in two of them) make the table keep
 * the later file's row, as a read per ticker does. A store that names a location to scan from
 * (Store.scanLocation: SQLite) is scanned in a thread of its own; another on this thread. `onYears` is told of each year whose rows are all in
 * the table (committed), while later years are still read: its partition can be written.
 */
export async function appendScanned(
  store: Store,
  table: BarTable,
  plans: readonly JobPlan[],
  sid: ReadonlyMap<string, number>,
  adjust: Adjust,
  hooks: { stopped: () => void; onProgress?: ((e: ExportEvent) => void) | undefined; onYears: (years: string[]) => void },
): Promise<Scanned> {
  const targets = new Map<string, ExportTarget>();
  for (const plan of plans) {
    for (const s of plan.symbols) {
      const id = sid.get(s.ticker);
      if (id === undefined) continue;
      hooks.stopped();
      targets.set(s.ticker, { sid: id, steps: await adjustmentOf(store, s.symbol, s.ticker, plan.dataset, adjust) });
    }
  }
  const first = plans[0];
  if (first === undefined) return { rows: new Uint32Array(sid.size), years: [], late: [] };
  const window = { interval: first.interval, start: first.start ?? '0000-01-01', end: first.end };
  const location = store.scanLocation();
  const messages =
    location === undefined
      ? // PostgreSQL on this thread: its rows arrive over the network.
        scanMessages(store.scanDays(window.interval, window.start, window.end, PAGE_ROWS), new ColumnBuilder(targets, sid.size, BATCH_ROWS))
      : scanThread({ ...window, location, targets: [...targets], sids: sid.size });
  for await (const m of messages) {
    hooks.stopped();
    if (m.type === 'batch') await table.appendBatch(m.batch);
    else if (m.type === 'page') hooks.onProgress?.({ type: 'export-scan', day: m.day, rows: m.taken, daysDone: m.place, daysTotal: m.days });
    else if (m.type === 'years') {
      table.flush();
      hooks.onYears(m.years);
    } else {
      if (m.overlaps) table.dedupe();
      return { rows: m.rows, years: m.years, late: m.late };
    }
  }
  throw new Error('The scan of the store ended before its last message');
}

/** A SQLite store's scan in a thread of its own (scan-thread.ts): its messages, each batch acknowledged once taken. */
async function* scanThread(d: Omit<ScanThreadData, 'flags' | 'batchRows' | 'pageRows'>): AsyncGenerator<ScanMessage> {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const workerData = { ...d, flags: flags.buffer, batchRows: BATCH_ROWS, pageRows: PAGE_ROWS } satisfies ScanThreadData;
  const worker = startThread(import.meta.url, 'scan-thread', workerData);
  const queue: ScanMessage[] = [];
  let failed: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  worker.on('message', (m: ScanMessage) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (error: unknown) => {
    failed = error instanceof Error ? error : new Error(`The scan thread failed: ${JSON.stringify(error)}`);
    wake?.();
  });
  worker.on('exit', () => {
    exited = true;
    wake?.();
  });
  try {
    for (;;) {
      const m = queue.shift();
      if (m !== undefined) {
        yield m;
        if (m.type === 'batch') {
          // Taken (appended): room for the next.
          Atomics.sub(flags, 0, 1);
          Atomics.notify(flags, 0);
        }
        if (m.type === 'done') return;
        continue;
      }
      if (failed !== undefined) throw failed;
      if (exited) throw new Error('The scan thread ended before its last message');
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    // Stopped or failed on this side: the thread ends at its next page or batch.
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 0);
    if (!exited) await new Promise((resolve) => worker.once('exit', resolve));
  }
}
