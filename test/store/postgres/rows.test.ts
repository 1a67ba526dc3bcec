// rows.ts: the store's rows as the Store contract's types.
import { describe, expect, it } from 'vitest';
import { toDoneKey, toProcessInfo, toProgress, toWorkItems, type FileRow, type ProcessRow } from '../../../src/store/postgres/rows.js';

const file = (key: string, day: string, last_modified: string | null = null): FileRow => ({ job: 'j', key, day, size: 10, etag: 'e', last_modified });

describe('row mappers', () => {
  it('hands out claimed rows oldest day first, then by key, whatever order they came back in', () => {
    const items = toWorkItems([file('b', '2024-01-02'), file('z', '2024-01-01'), file('a', '2024-01-02', 'Tue, 02 Jan 2024 00:00:00 GMT')]);
    expect(items).toEqual([
      { job: 'j', file: { key: 'z', day: '2024-01-01', size: 10, etag: 'e', lastModified: undefined } },
      { job: 'j', file: { key: 'a', day: '2024-01-02', size: 10, etag: 'e', lastModified: 'Tue, 02 Jan 2024 00:00:00 GMT' } },
      { job: 'j', file: { key: 'b', day: '2024-01-02', size: 10, etag: 'e', lastModified: undefined } },
    ]);
  });

  it('leaves the rows it sorts as they were', () => {
    const rows = [file('b', '2024-01-02'), file('a', '2024-01-01')];
    toWorkItems(rows);
    expect(rows.map((r) => r.key)).toEqual(['b', 'a']);
  });

  it('maps a done file, a job and a process', () => {
    expect(toDoneKey(file('k', '2024-01-01'))).toEqual({ key: 'k', size: 10, etag: 'e', lastModified: undefined });
    const at = new Date('2024-01-01T00:00:00Z');
    expect(
      toProgress({ job: 'j', dataset: 'd', interval: '1d', symbols: ['A'], created_at: at, updated_at: at, done: 2, bytes: 20 }),
    ).toEqual({ job: 'j', dataset: 'd', interval: '1d', symbols: ['A'], doneKeys: 2, bytes: 20, createdAt: at.toISOString(), updatedAt: at.toISOString() });
    const p: ProcessRow = {
      id: 1,
      host: 'h',
      pid: 2,
      started_at: at,
      heartbeat_at: at,
      ended_at: null,
      files_done: 10,
      bytes: 100,
      alive: true,
      seconds: 4,
    };
    expect(toProcessInfo(p)).toEqual({
      id: 1,
      host: 'h',
      pid: 2,
      startedAt: at.toISOString(),
      heartbeatAt: at.toISOString(),
      endedAt: undefined,
      alive: true,
      filesDone: 10,
      bytes: 100,
      filesPerSecond: 2.5,
    });
    // A process that has not run for a measurable time has no rate yet.
    expect(toProcessInfo({ ...p, seconds: 0, ended_at: at })).toMatchObject({ filesPerSecond: 0, endedAt: at.toISOString() });
  });
});
