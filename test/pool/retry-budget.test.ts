// One retry budget per file: full retries and a streamed body's Range resumes draw on the same
// `retries`, judged by the GETs the server saw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadTask } from '../../src/pool/messages.js';
import { DownloadPool } from '../../src/pool/pool.js';
import { downloadTask } from '../fixtures/download-task.js';
import { dayFilesFor, type GeneratedFile } from '../fixtures/generate.js';
import { readSourceBars } from '../fixtures/source-bars.js';
import { END, escapeRegExp, STOCKS, startWorld, type World } from '../e2e/helpers.js';

let w: World;
let pool: DownloadPool;
let files: GeneratedFile[];
beforeAll(async () => {
  w = await startWorld();
  pool = new DownloadPool({ threads: 1, perThread: 2 });
  files = dayFilesFor(w.ds, STOCKS, '2026-10-01', END);
});
afterAll(async () => {
  await pool?.close();
  await w?.close();
});

const at = (i: number): GeneratedFile => {
  const f = files[i];
  if (!f) throw new Error(`no file ${i}`);
  return f;
};

const task = (f: GeneratedFile, extra: Partial<DownloadTask> = {}): DownloadTask => downloadTask(w.server.endpoint, f, extra);

describe('one retry budget per file', () => {
  it.each([
    ['streamed (Range resumes)', 0],
    ['read whole', 8 * 1024 * 1024],
  ])('a body that is always cut is asked for at most retries + 1 times, %s', async (_name, streamAboveBytes) => {
    const f = at(streamAboveBytes === 0 ? 0 : 1);
    await w.server.setFaults([{ match: escapeRegExp(f.key), times: -1, kind: 'truncate' }]);
    await w.server.resetStats();
    const r = await pool.run(task(f, { streamAboveBytes }));
    await w.server.setFaults([]);
    expect(r).toMatchObject({ ok: false, code: 'ERR_DOWNLOAD', retries: 3 });
    const stats = await w.server.stats();
    expect(stats.gets[f.key]).toBe(4);
    // Streamed, every retry resumed from the last byte received (half of what was left each time).
    if (streamAboveBytes === 0) expect(stats.ranges[f.key]).toHaveLength(3);
  });

  it('a resume that fails keeps what arrived: the next retry asks for the same rest, and the file completes', async () => {
    const f = at(2);
    await w.server.setFaults([
      { match: escapeRegExp(f.key), times: 1, kind: 'truncate' },
      { match: escapeRegExp(f.key), times: 1, kind: 'status', status: 500 },
    ]);
    await w.server.resetStats();
    const r = await pool.run(task(f, { streamAboveBytes: 0 }));
    await w.server.setFaults([]);
    expect(r).toMatchObject({ ok: true, bytes: f.size, retries: 2 });
    const stats = await w.server.stats();
    expect(stats.gets[f.key]).toBe(3);
    const half = `bytes=${Math.floor(f.size / 2)}-`;
    expect(stats.ranges[f.key]).toEqual([half, half]);
    expect(r.ok && r.rows).toEqual(readSourceBars(w.ds, STOCKS, 'TSLA', f.day, f.day).map((bar) => ({ ticker: 'TSLA', ...bar })));
  });
});
