import { describe, expect, it } from 'vitest';
import { readable, render } from '../../src/cli/show.js';
import type { Bar } from '../../src/types.js';

const bar: Bar = { time: Date.parse('2022-08-22T04:00:00Z'), open: 291.91333333333336, high: 214.31333333333333, low: 0.000012345678, close: 100, volume: 1234.5678901, transactions: 120 };

describe('show', () => {
  it.each([
    [214.31333333333333, '214.3133'],
    [100, '100'],
    [100.5, '100.5'],
    [65_000_000, '65000000'],
    [1234.5678901, '1234.5679'],
    [0.5123456, '0.5123'],
    [0.000012345678, '0.00001235'],
    [-1.23456, '-1.2346'],
  ])('reads %d as %s in the table', (x, text) => expect(readable(x)).toBe(text));

  it('rounds the table for reading; csv and jsonl keep every digit', () => {
    const [, row] = render([bar], 'table');
    expect(row).toContain(' 214.3133 ');
    expect(row).not.toContain('214.31333');
    expect(row).toMatch(/ 120$/);
    expect(render([bar], 'csv')[1]).toBe('2022-08-22T04:00:00.000Z,291.91333333333336,214.31333333333333,0.000012345678,100,1234.5678901,120');
    expect(JSON.parse(render([bar], 'jsonl')[0] ?? '')).toEqual(bar);
  });
});
