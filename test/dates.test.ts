import { describe, expect, it } from 'vitest';
import { addDays, addMonths, lastPublishedDay, monthsBetween, parseDay } from '../src/dates.js';

describe('dates', () => {
  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2024-13-01', false],
    ['2024-1-01', false],
    ['24-01-01', false],
    ['2024-01-01T00:00', false],
  ])('parseDay(%s) valid=%s', (day, valid) => {
    expect(parseDay(day) !== undefined).toBe(valid);
  });

  it('adds months, clamping to the end of shorter months', () => {
    expect(addMonths('2024-02-29', -12)).toBe('2023-02-28');
    expect(addMonths('2024-03-31', -1)).toBe('2024-02-29');
    expect(addMonths('2026-11-23', -60)).toBe('2021-11-23');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
  });

  it('lists one prefix per month across year ends', () => {
    expect(monthsBetween('2023-11-15', '2024-02-01')).toEqual(['2023/11', '2023/12', '2024/01', '2024/02']);
    expect(monthsBetween('2024-05-01', '2024-05-31')).toEqual(['2024/05']);
  });

  it('knows a day is published only the next day, late morning New York time', () => {
    expect(lastPublishedDay(new Date('2026-11-23T18:00:00Z'))).toBe('2026-11-22');
    expect(lastPublishedDay(new Date('2026-11-23T10:00:00Z'))).toBe('2026-11-21');
  });
});
