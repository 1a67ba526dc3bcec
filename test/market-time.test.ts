import { describe, expect, it } from 'vitest';
import { addDays, addMonths, dayNumber, inRegularSession, lastPublishedDay, monthsBetween, newYorkOffset, nextDay, parseDay, previousDay, sessionDay, windowDays } from '../src/market-time.js';

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

  it('steps a day at a time across month, year and leap-day ends', () => {
    expect(nextDay('2024-02-28')).toBe('2024-02-29');
    expect(nextDay('2024-12-31')).toBe('2025-01-01');
    expect(previousDay('2024-03-01')).toBe('2024-02-29');
    expect(previousDay('2023-03-01')).toBe('2023-02-28');
    expect(windowDays('2024-02-27', '2024-03-02')).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02']);
    expect(windowDays('2024-03-02', '2024-03-01')).toEqual([]);
    expect(windowDays('2024-02-30', '2024-03-01')).toEqual([]);
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayNumber('2024-03-01') - dayNumber('2024-02-28')).toBe(2);
  });

  it('knows the regular session in New York time, either side of a DST change', () => {
    // 2024-03-08 is EST (UTC-5), 2024-03-11 EDT (UTC-4).
    expect(inRegularSession(Date.parse('2024-03-08T14:29:00Z'))).toBe(false);
    expect(inRegularSession(Date.parse('2024-03-08T14:30:00Z'))).toBe(true);
    expect(inRegularSession(Date.parse('2024-03-08T20:59:00Z'))).toBe(true);
    expect(inRegularSession(Date.parse('2024-03-08T21:00:00Z'))).toBe(false);
    expect(inRegularSession(Date.parse('2024-03-11T13:30:00Z'))).toBe(true);
    expect(inRegularSession(Date.parse('2024-03-11T20:00:00Z'))).toBe(false);
  });
});

describe('sessionDay', () => {
  it.each([
    ['a day bar at New York midnight, EST', '2024-01-09T05:00:00Z', '2024-01-09'],
    ['a day bar at New York midnight, EDT', '2022-08-25T04:00:00Z', '2022-08-25'],
    ['04:00 pre-market, EDT', '2022-08-25T08:00:00Z', '2022-08-25'],
    ['19:59 after hours, EST, already the next UTC day', '2024-01-10T00:59:00Z', '2024-01-09'],
    ['the hour before the spring change', '2024-03-10T06:59:00Z', '2024-03-10'],
  ])('%s', (_name, iso, day) => {
    expect(sessionDay(Date.parse(iso))).toBe(day);
  });
});

describe('newYorkOffset', () => {
  it.each([
    ['2024-01-15T15:00:00Z', -5],
    ['2024-07-15T15:00:00Z', -4],
    // 2024-03-10: clocks jump 02:00 EST -> 03:00 EDT, i.e. at 07:00Z.
    ['2024-03-10T06:59:00Z', -5],
    ['2024-03-10T07:00:00Z', -4],
    // 2024-11-03: back from 02:00 EDT to 01:00 EST, i.e. at 06:00Z.
    ['2024-11-03T05:59:00Z', -4],
    ['2024-11-03T06:00:00Z', -5],
  ])('%s is UTC%i', (iso, hours) => {
    expect(newYorkOffset(Date.parse(iso))).toBe(hours * 3_600_000);
  });
});
