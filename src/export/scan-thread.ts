// The scan of a SQLite store for `export --all`, in a thread of its own: reading ~14 million rows
// out of SQLite is about as much work as DuckDB's appending them (measured: README, Export), so
// the two run side by side on two cores. One dedicated thread for one long task, hence a plain
// worker_threads Worker and not the download pool. Batches of columns are transferred, not copied,
// and at most MAX_IN_FLIGHT wait for the main thread at any time.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import type { StoreLocation } from '../store/types.js';
import { batchBuffers, ColumnBuilder, scanMessages, type ColumnBatch, type ExportTarget, type ScanMessage } from './columns.js';

/** What the thread is given. */
export interface ScanThreadData {
  /** Where the store is (Store.scanLocation). */
  location: StoreLocation;
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
  const store = await openStore(data.location);
  try {
    const builder = new ColumnBuilder(new Map(data.targets), data.sids, data.batchRows);
    for await (const m of scanMessages(store.scanDays(data.interval, data.start, data.end, data.pageRows), builder)) {
      if (m.type === 'batch') {
        if (!postBatch(m.batch)) return;
      } else {
        if (Atomics.load(flags, 1) === 1) return;
        post(m);
      }
    }
  } finally {
    await store.close();
  }
}

await scan();
