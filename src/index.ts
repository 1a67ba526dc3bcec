// The public surface of preload-market-data. Everything else is internal.
export { preload, PreloadAbortedError } from './preload.js';
export { fetchSymbol, readBars, getProgress, listProgress, clearProgress, jobStatus } from './fetch.js';
export { resolveSymbol } from './symbols.js';
export { PreloadError, InvalidOptionError, ConfigurationError, NotEntitledError, IntegrityError, AbortedError, StoreError } from './errors.js';
export type { ErrorCode, FailureCode } from './errors.js';

export type { PreloadReport, Failure, JobReport } from './preload.js';
export type { ReadOptions } from './fetch.js';
export type { PreloadOptions, Period, Interval, Credentials } from './options.js';
export type { Bar } from './cache/bars.js';
export type { JobProgress, JobStatus, JobCounts, ProcessInfo } from './store/types.js';
export type { PreloadEvent, PlanEvent, ProgressEvent, FailureEvent } from './events.js';
export type { ResolvedSymbol, AssetClass } from './symbols.js';
