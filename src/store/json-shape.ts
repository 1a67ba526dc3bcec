// What both stores' readBarsJson put in SQL from a JsonShape: its keys, checked to be plain names,
// and the bar columns by a fixed table, so that nothing else of a shape ever reaches SQL text.
import type { Bar } from '../types.js';
import type { JsonShape } from './types.js';

/** Bar fields by their column in both stores. */
const COLUMNS: Readonly<Record<keyof Bar, string>> = { time: 'time', open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume', transactions: 'transactions' };

/** One key of an encoded bar: its name, its column, and whether a null leaves it out. */
export interface ShapeField {
  key: string;
  column: string;
  nullable: boolean;
}

/**
 * The fields of `shape`, in order.
 * @throws Error for a key that is not a plain name (a caller's bug: keys are the code's own).
 */
export function shapeFields(shape: JsonShape): ShapeField[] {
  return shape.fields.map(([key, field]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`Bad JSON key: ${key}`);
    return { key, column: COLUMNS[field], nullable: field === 'transactions' };
  });
}

/** A short stable name of a shape (its order, keys and fields): a cache key, a prepared statement's name. */
export function shapeName(shape: JsonShape): string {
  return `${shape.desc ? 'd' : 'a'}_${shape.fields.map(([k, f]) => `${k}${f.slice(0, 2)}`).join('')}`;
}
