// The SQLite store's change watch (watch.ts): a commit of another connection is seen, reads are not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { waitFor } from '../../e2e/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'pmd-watch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SqliteStore.watchChanges', () => {
  it("sees another connection's commit within a few polls, and nothing for reads", async () => {
    const store = openSqliteStore(root);
    const other = openSqliteStore(root);
    let seen = 0;
    const stop = await store.watchChanges(() => (seen += 1));
    try {
      await other.listSymbols('1d');
      await store.listSymbols('1d');
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toBe(0);
      await other.replaceActions(new Map([['TSLA', { splits: [], dividends: [] }]]), new Date().toISOString());
      await waitFor(() => seen === 1, 3000);
      await stop();
      await other.replaceActions(new Map([['AAPL', { splits: [], dividends: [] }]]), new Date().toISOString());
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toBe(1);
    } finally {
      await other.close();
      await store.close();
    }
  });
});
