// check's own options, validated at the door (options.ts's parseOptions) beside the where and
// window options, which resolveOptions validates as for every read. Light to import: the CLI's
// declaration reads it on every command.
import { z } from 'zod';
import type { CheckEvent } from './types.js';

export const checkSchema = z.object({
  symbols: z.array(z.string()).optional().describe('an array of symbols'),
  all: z.boolean().default(false).describe('a boolean'),
  signal: z.instanceof(AbortSignal).optional().describe('an AbortSignal'),
  onProgress: z
    .custom<(event: CheckEvent) => void>((v) => typeof v === 'function')
    .optional()
    .describe('a function'),
});
