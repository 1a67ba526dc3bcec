// One part of `check --all`'s scan of a SQLite store, in a thread of its own (scan.ts): the
// tickers of its range, read along the store's day-major key into their series; its findings and
// counts posted at the end, a message per chunk read on the way.
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import { PAGE_ROWS, scanSeries, type ScanThreadData, type ScanThreadMessage } from './scan.js';
import type { Finding } from './types.js';

const data = workerData as ScanThreadData;
const post = (m: ScanThreadMessage): void => parentPort?.postMessage(m);

async function scan(): Promise<void> {
  const store = await openStore(data.location);
  try {
    const { interval, start, end } = data.window;
    const findings: Finding[] = [];
    const read = await scanSeries(
      store.scanDays(interval, start, end, PAGE_ROWS, data.range),
      interval === '1d',
      new Map(data.splits),
      (f) => findings.push(f),
      () => {},
      (c) => post({ type: 'chunk', day: c.day, rows: c.rows.length, place: c.place, days: c.days }),
    );
    post({ type: 'done', findings, read });
  } finally {
    await store.close();
  }
}

await scan();
