// export's own options, validated at the door (options.ts's parseOptions). A module of its own,
// light to import: the CLI's declaration reads its defaults for --help on every command, and
// export.ts (the store, the reads, DuckDB's loader) is loaded only when export runs.
import { z } from 'zod';
import { DEFAULT_MEMORY_LIMIT_MB } from './duckdb.js';
import { EXPORT_FORMATS, EXPORT_PARTITIONS, type ExportEvent } from './types.js';

export const exportSchema = z.object({
  out: z.string().min(1).describe('a directory path'),
  format: z.enum(EXPORT_FORMATS).default('parquet').describe(`one of ${EXPORT_FORMATS.join(', ')}`),
  partition: z.enum(EXPORT_PARTITIONS).default('year').describe(`one of ${EXPORT_PARTITIONS.join(', ')}`),
  force: z.boolean().default(false).describe('a boolean'),
  memoryLimitMb: z.number().int().min(64).max(1_000_000).default(DEFAULT_MEMORY_LIMIT_MB).describe('an integer from 64 (MB)'),
  signal: z.instanceof(AbortSignal).optional().describe('an AbortSignal'),
  onProgress: z
    .custom<(event: ExportEvent) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
});
