// One kind of stored corporate action (splits or dividends) listed across every stock ticker
// whose actions were fetched, filtered, sorted and paged by the database (Store.listActions): what
// serve's listings without a ticker ask of a store holding the whole market's actions (`actions
// --all`: ~11,000 tickers, ~10^5 dividends), in one statement instead of a read per ticker. Both
// stores build that statement here; only their placeholders, text collation and the test of a
// stock ticker differ. Column names come from the table below, never from the caller's strings.
import type { Dividend, Split } from '../corporate-actions.js';

export type ActionKind = 'splits' | 'dividends';

/** What listActions answers, by kind. */
export interface ListedActions {
  splits: Split[];
  dividends: Dividend[];
}

/** A stored column as a listing compares and sorts it: its value, or `ifNull` where it has none. */
export interface ActionColumn {
  name: string;
  ifNull?: string | number;
}

/** Rows whose column compares so with the value (`in`: equals one of `values`). A row without the value meets none. */
export interface ActionCondition {
  column: ActionColumn;
  op: '=' | '>' | '>=' | '<' | '<=' | 'in';
  values: ReadonlyArray<string | number>;
}

/** A sort key: rows without the value last, whichever the direction. */
export interface ActionSortKey {
  column: ActionColumn;
  desc: boolean;
}

export interface ActionListQuery {
  /** Every condition holds. */
  where?: readonly ActionCondition[];
  /**
   * Sort keys, then ticker and id (code-unit order); then the row's date and every other column,
   * so that pages by offset never overlap. Without keys: by ticker, date, id, as getActions lists
   * each ticker's rows.
   */
  order?: readonly ActionSortKey[];
  /** Rows `offset` to `offset + limit` of the sorted rows. */
  page?: { offset: number; limit: number };
}

type Type = 'text' | 'number';
/** The columns of each kind's table (src/store/sqlite/db.ts, postgres/schema.ts), and how they compare. */
export const ACTION_COLUMNS: Record<ActionKind, Readonly<Record<string, Type>>> = {
  splits: { ticker: 'text', execution_date: 'text', split_from: 'number', split_to: 'number', adjustment_type: 'text', historical_adjustment_factor: 'number', id: 'text' },
  dividends: {
    ticker: 'text',
    ex_dividend_date: 'text',
    cash_amount: 'number',
    currency: 'text',
    distribution_type: 'text',
    frequency: 'number',
    pay_date: 'text',
    record_date: 'text',
    declaration_date: 'text',
    split_adjusted_cash_amount: 'number',
    historical_adjustment_factor: 'number',
    id: 'text',
  },
};
const DATE: Record<ActionKind, string> = { splits: 'execution_date', dividends: 'ex_dividend_date' };

/** What differs between the stores' SQL. */
export interface ActionSqlDialect {
  /** The placeholder of the i-th value (1-based), cast to the type where the database needs it. */
  param(i: number, type: Type | 'integer'): string;
  /** Appended to a text expression so that it compares in code-unit order, as JavaScript does. */
  collate: string;
  /** True for a stock ticker (scope.ts's isStockTicker): no `X:`-style prefix, not a scope. */
  isStock: string;
  /** The market whose actions_market row stands for every stock ticker (actions --all). */
  market: string;
}

/** The statement of Store.listActions: text and values. @throws Error for a column the table lacks (a bug, not input). */
export function listActionsSql(kind: ActionKind, q: ActionListQuery, d: ActionSqlDialect): { text: string; values: Array<string | number> } {
  const columns = ACTION_COLUMNS[kind];
  const values: Array<string | number> = [];
  const bind = (v: string | number, type: Type | 'integer'): string => {
    const value = type === 'text' ? String(v) : Number(v);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`Expected a number for a ${kind} column, got ${String(v)}`);
    values.push(value);
    return d.param(values.length, type);
  };
  const expr = (c: ActionColumn): { sql: string; type: Type } => {
    const type = columns[c.name];
    if (type === undefined) throw new Error(`No column ${c.name} in ${kind}`);
    const sql = c.ifNull === undefined ? c.name : `COALESCE(${c.name}, ${bind(c.ifNull, type)})`;
    return { sql: type === 'text' ? `${sql}${d.collate}` : sql, type };
  };
  const where = [d.isStock, `(EXISTS (SELECT 1 FROM actions_market WHERE market = ${bind(d.market, 'text')}) OR ticker IN (SELECT ticker FROM actions_fetched))`];
  for (const c of q.where ?? []) {
    const { sql, type } = expr(c.column);
    if (c.op === 'in') where.push(`${sql} IN (${c.values.map((v) => bind(v, type)).join(', ')})`);
    else where.push(`${sql} ${c.op} ${bind(c.values[0] ?? '', type)}`);
  }
  const order: string[] = [];
  for (const k of q.order ?? []) {
    const { sql } = expr(k.column);
    order.push(`(${sql}) IS NULL`, `${sql}${k.desc ? ' DESC' : ''}`);
  }
  const rest = Object.keys(columns).filter((c) => c !== 'ticker' && c !== 'id' && c !== DATE[kind]);
  const ties = q.order === undefined || q.order.length === 0 ? ['ticker', DATE[kind], 'id'] : ['ticker', 'id', DATE[kind]];
  for (const c of [...ties, ...rest]) order.push(expr({ name: c }).sql);
  let text = `SELECT * FROM ${kind} WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}`;
  if (q.page !== undefined) text += ` LIMIT ${bind(q.page.limit, 'integer')} OFFSET ${bind(q.page.offset, 'integer')}`;
  return { text, values };
}
