// The shared store's change notices (watch.ts, sql/notify.ts): a commit of any process is seen by
// every watcher, a rollback is not, and a lost listen session counts as a change, before and
// after it reconnects. A real PostgreSQL, a restart to cut the session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../src/store/postgres/index.js';
import { startPostgres, type TestPostgres } from '../../fixtures/postgres.js';
import { waitFor } from '../../e2e/helpers.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.close();
});

const actions = (ticker: string) => new Map([[ticker, { splits: [], dividends: [] }]]);

describe('PostgresStore.watchChanges', () => {
  it('calls every watcher after another store commits, and not for a refused clear', async () => {
    const url = await server.freshDatabase();
    const [a, b, writer] = await Promise.all([openPostgresStore(url), openPostgresStore(url), openPostgresStore(url)]);
    const seen = { a: 0, b: 0 };
    const stopA = await a.watchChanges(() => (seen.a += 1));
    const stopB = await b.watchChanges(() => (seen.b += 1));
    try {
      await writer.replaceActions(actions('TSLA'), new Date().toISOString());
      await waitFor(() => seen.a === 1 && seen.b === 1, 5000);
      // A clear refused while a process works on the job rolls back: no notice.
      const job = { job: 'j', dataset: 'us_stocks_sip/day_aggs_v1', interval: '1d' as const, tickers: ['TSLA'] };
      await writer.prepareJob(job, { clear: false });
      const queue = await writer.openQueue([job]);
      await expect(writer.clearJob('j', ['TSLA'], '1d')).rejects.toThrow(/working on it/);
      await queue.close();
      await writer.clearJob('j', ['TSLA'], '1d');
      await waitFor(() => seen.a === 2 && seen.b === 2, 5000);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual({ a: 2, b: 2 });
    } finally {
      await stopA();
      await stopB();
      await Promise.all([a.close(), b.close(), writer.close()]);
    }
  });

  it('counts a lost session as a change, reconnects, and sees commits again', async () => {
    const url = await server.freshDatabase();
    const store = await openPostgresStore(url, { storeTimeoutMs: 30_000 });
    let seen = 0;
    const stop = await store.watchChanges(() => (seen += 1));
    try {
      await server.stop();
      await waitFor(() => seen >= 1, 10_000);
      await server.start();
      // Once more when it listens again (whatever committed meanwhile).
      await waitFor(() => seen >= 2, 20_000);
      const before = seen;
      const writer = await openPostgresStore(url);
      await writer.replaceActions(actions('AAPL'), new Date().toISOString());
      await writer.close();
      await waitFor(() => seen > before, 5000);
    } finally {
      await stop();
      await store.close();
    }
  });
});
