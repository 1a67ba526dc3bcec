// Corporate actions in the shared store: a ticker's rows replaced whole, with the time they were
// fetched, in one transaction for the whole fetch (nothing half-stored).
import type { CorporateActions } from '../../corporate-actions.js';
import { toDividend, toSplit } from '../../corporate-actions.js';
import type { StoredActions } from '../types.js';
import type { Db } from './db.js';
import { deleteDividends, deleteSplits, dividendsOf, fetchedAt, insertDividends, insertSplits, markFetched, splitsOf } from './sql/actions.js';
import { lockActions } from './sql/locks.js';
import { notifyChanged } from './sql/notify.js';

export async function replaceActions(db: Db, actions: ReadonlyMap<string, CorporateActions>, at: string): Promise<void> {
  if (actions.size === 0) return;
  const tickers = [...actions.keys()];
  const splits = [...actions.values()].flatMap((a) => a.splits);
  const dividends = [...actions.values()].flatMap((a) => a.dividends);
  await db.transaction(async (c) => {
    // One replacement at a time: two processes refreshing the same ticker at once would each
    // delete before the other's insert committed, and both inserts would stay.
    await lockActions(c);
    await deleteSplits(c, tickers);
    await deleteDividends(c, tickers);
    await insertSplits(c, splits);
    await insertDividends(c, dividends);
    await markFetched(c, tickers, at);
    await notifyChanged(c);
  });
}

export async function getActions(db: Db, ticker: string): Promise<StoredActions | undefined> {
  const [at] = await fetchedAt(db, [ticker]);
  if (at === undefined) return undefined;
  const splits = await splitsOf(db, ticker);
  const dividends = await dividendsOf(db, ticker);
  return { splits: splits.map(toSplit), dividends: dividends.map(toDividend), fetchedAt: at.fetched_at.toISOString() };
}

export async function actionsFetchedAt(db: Db, tickers: readonly string[]): Promise<Map<string, string>> {
  const rows = await fetchedAt(db, tickers);
  return new Map(rows.map((r) => [r.ticker, r.fetched_at.toISOString()]));
}
