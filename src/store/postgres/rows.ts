// What the store's SELECTs return and its writes take, and how a row becomes the Store contract's types.
import type { DayFile } from '../../types.js';
import type { DoneKey, JobProgress, JobSpec, ProcessInfo, WorkItem } from '../types.js';

/** An `--all` file whose rows are at hand (a small file: its columns) or staged (a sink's table). */
export interface MarketFile {
  job: JobSpec;
  file: DayFile;
}

/** One ingested_days row: a ticker's day (or an --all job's scope's day) and the file it came from. */
export interface IngestedDay {
  symbol: string;
  interval: string;
  day: string;
  dataset: string;
  key: string;
  etag: string;
  rows: number;
}

/** One row of `job_files` as a listing describes it. */
export interface FileRow {
  job: string;
  key: string;
  day: string;
  size: number;
  etag: string;
  last_modified: string | null;
}

export interface JobRow {
  job: string;
  dataset: string;
  interval: string;
  symbols: string[];
  created_at: Date;
  updated_at: Date;
  done: number;
  bytes: number;
}

export interface ProcessRow {
  id: number;
  host: string;
  pid: number;
  started_at: Date;
  heartbeat_at: Date;
  ended_at: Date | null;
  files_done: number;
  bytes: number;
  alive: boolean;
  seconds: number;
}

export function toProgress(r: JobRow): JobProgress {
  return {
    job: r.job,
    dataset: r.dataset,
    interval: r.interval,
    symbols: r.symbols,
    doneKeys: r.done,
    bytes: r.bytes,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export function toProcessInfo(r: ProcessRow): ProcessInfo {
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    startedAt: r.started_at.toISOString(),
    heartbeatAt: r.heartbeat_at.toISOString(),
    endedAt: r.ended_at?.toISOString(),
    alive: r.alive,
    filesDone: r.files_done,
    bytes: r.bytes,
    filesPerSecond: r.seconds > 0 ? r.files_done / r.seconds : 0,
  };
}

export function toDoneKey(r: Pick<FileRow, 'key' | 'size' | 'etag' | 'last_modified'>): DoneKey {
  return { key: r.key, size: r.size, etag: r.etag, lastModified: r.last_modified ?? undefined };
}

/** Claimed rows as work items, oldest day first (then by key): UPDATE ... RETURNING has no order. */
export function toWorkItems(rows: readonly FileRow[]): WorkItem[] {
  return [...rows]
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => ({ job: r.job, file: { key: r.key, day: r.day, size: r.size, etag: r.etag, lastModified: r.last_modified ?? undefined } }));
}
