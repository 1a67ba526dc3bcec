// The partitions' files, written into the staging directory one COPY at a time on the writer's
// own connection: a scan hands over each year as soon as its rows are in (scan.ts), so DuckDB
// writes it while the next years are read; the rest are written once everything is appended.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BarTable } from './duckdb.js';
import { inside } from './layout.js';
import type { Partition } from './partition.js';
import type { ExportedFile, ExportFormat } from './types.js';

export class PartitionWriter {
  readonly #table: BarTable;
  readonly #dir: string;
  readonly #format: ExportFormat;
  readonly #interval: string;
  readonly #metadata: Readonly<Record<string, string>>;
  readonly #onFile: (file: ExportedFile, done: number) => void;
  readonly #started = new Map<string, Promise<ExportedFile>>();
  readonly #done = new Set<string>();

  /** `staging`: the export's staging directory; files go under its `new/`. */
  constructor(table: BarTable, staging: string, o: { format: ExportFormat; interval: string; metadata: Readonly<Record<string, string>>; onFile: (file: ExportedFile, done: number) => void }) {
    this.#table = table;
    this.#dir = join(staging, 'new');
    this.#format = o.format;
    this.#interval = o.interval;
    this.#metadata = o.metadata;
    this.#onFile = o.onFile;
  }

  /** Starts writing a partition whose rows are all in the table (queued behind the writes before it). */
  start(part: Partition): void {
    const p = this.#write(part);
    // Awaited by `finish`; until then a failure must not count as unhandled.
    p.catch(() => undefined);
    this.#started.set(part.dir, p);
  }

  /**
   * Every partition's file, in `parts` order: those started are awaited, and written again when in
   * `again` (rows of them arrived after they were started); the others are written now.
   */
  async finish(parts: readonly Partition[], again: ReadonlySet<string>, stopped: () => void): Promise<ExportedFile[]> {
    const files: ExportedFile[] = [];
    for (const part of parts) {
      stopped();
      const early = this.#started.get(part.dir);
      let file = early === undefined ? undefined : await early;
      if (file === undefined || again.has(part.dir)) file = await this.#write(part);
      files.push(file);
    }
    return files;
  }

  /** Waits for the writes started, whatever their outcome (before the table is closed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#started.values());
  }

  async #write(part: Partition): Promise<ExportedFile> {
    const ext = this.#format === 'csv' ? 'csv' : 'parquet';
    const dir = inside(this.#dir, part.dir);
    await mkdir(dir, { recursive: true });
    const path = inside(dir, `part-0.${ext}`);
    const rows = await this.#table.write(part.where, path, this.#format, this.#interval, this.#metadata);
    const file = { path: `${part.dir}/part-0.${ext}`, rows, bytes: (await stat(path)).size };
    this.#done.add(part.dir);
    this.#onFile(file, this.#done.size);
    return file;
  }
}
