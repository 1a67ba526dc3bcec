// The scan of a SQLite store for `export --all`, in a thread of its own: reading ~14 million rows
// out of SQLite is about as much work as DuckDB's appending them (measured: README, Export), so
// the two run side by side on two cores. One dedicated thread for one long task, hence a plain
// worker_threads Worker and not the download pool. Batches of columns are transferred, not copied,
// and at most MAX_IN_FLIGHT wait for the main thread at any time.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from '../store/sqlite.js';
import { batchBuffers, ColumnBuilder, type ColumnBatch, type ExportTarget } from './columns.js';

/** What the thread is given. */
export interface ScanThreadData {
  cacheDir: string;
  interval: string;
  start: string;
  end: string;
  targets: Array<[string, ExportTarget]>;
  sids: number;
  batchRows: number;
  pageRows: number;
  /** Int32 [batches posted and not yet appended, stop (1: end now)]. */
  flags: SharedArrayBuffer;
}

/** What the thread posts, in order; `done` last. */
export type ScanMessage =
  | { type: 'batch'; batch: ColumnBatch }
  | { type: 'page'; day: string; taken: number; place: number; days: number }
  /** Every row of these years is in the batches before. */
  | { type: 'years'; years: string[] }
  | { type: 'done'; rows: Uint32Array; overlaps: boolean; years: string[]; late: string[] };

/** Batches posted and not yet appended, at most. */
export const MAX_IN_FLIGHT = 2;

const data = workerData as ScanThreadData;
const flags = new Int32Array(data.flags);
const port = parentPort;

function post(m: ScanMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(m, transfer);
}

/** Waits for room, then posts a batch; false once the main thread said stop. */
function postBatch(batch: ColumnBatch): boolean {
  for (;;) {
    if (Atomics.load(flags, 1) === 1) return false;
    const inFlight = Atomics.load(flags, 0);
    if (inFlight < MAX_IN_FLIGHT) break;
    Atomics.wait(flags, 0, inFlight, 1_000);
  }
  Atomics.add(flags, 0, 1);
  post({ type: 'batch', batch }, batchBuffers(batch));
  return true;
}

async function scan(): Promise<void> {
  const store = openSqliteStore(data.cacheDir);
  try {
    const builder = new ColumnBuilder(new Map(data.targets), data.sids, data.batchRows);
    for await (const page of store.scanDays(data.interval, data.start, data.end, data.pageRows)) {
      if (Atomics.load(flags, 1) === 1) return;
      const closed = builder.closeYears(page.day);
      if (closed.length > 0) {
        const rest = builder.drain();
        if (rest !== undefined && !postBatch(rest)) return;
        post({ type: 'years', years: closed });
      }
      const { taken, full } = builder.take(page.day, page.rows);
      for (const batch of full) if (!postBatch(batch)) return;
      post({ type: 'page', day: page.day, taken, place: page.place, days: page.days });
    }
    const last = builder.drain();
    if (last !== undefined && !postBatch(last)) return;
    post({ type: 'done', rows: builder.rows, overlaps: builder.overlaps, years: [...builder.years], late: [...builder.late] });
  } finally {
    await store.close();
  }
}

await scan();
