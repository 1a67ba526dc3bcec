// The public surface of preload-market-data. Everything else is internal.
export { preload, PreloadAbortedError } from './preload.js';
export { fetchSymbol, readBars } from './read/read-bars.js';
export { sync } from './sync.js';
export { getProgress, listProgress, clearProgress, jobStatus } from './job-progress.js';
export { corporateActions } from './read/actions.js';
export { fetchAllCorporateActions } from './read/actions-all.js';
export { exportBars } from './export/export.js';
export { checkStore } from './check/check.js';
export { resolveSymbol } from './symbols.js';
export { createServer } from './serve/server.js';
export { PreloadError, InvalidOptionError, ConfigurationError, BusyError, NotEntitledError, IntegrityError, AbortedError, StoreError, ActionsError } from './errors.js';
export type { ErrorCode } from './errors.js';

export type { PreloadReport, Failure, JobReport, DryRunJob, DuplicateFile, MisdatedFile, OutsideSessionFile } from './preload.js';
export type { ReadOptions } from './read/read-bars.js';
export type { SyncOptions, SyncReport, SyncPart } from './sync.js';
export type { ExportOptions, ExportReport, ExportedFile, ExportEvent, ExportReadEvent, ExportScanEvent, ExportFileEvent, ExportFormat, ExportPartition } from './export/types.js';
export type { CheckOptions, CheckReport, CheckEvent, CheckScanEvent, CheckSymbolEvent, Finding, FindingKind, Severity } from './check/types.js';
export type { ActionsOptions, CorporateActionsReport, SplitFactor, DividendFactor } from './read/actions.js';
export type { AllActionsOptions, AllActionsReport, AllActionsEvent } from './read/actions-all.js';
export type { Adjust, Split, Dividend } from './corporate-actions.js';
export type { PreloadOptions, Period, Interval } from './options.js';
export type { Bar, Credentials, FailureCode, JobCounts } from './types.js';
export type { FileFinding, FileNote, JobProgress, JobStatus, ProcessInfo } from './store/types.js';
export type { PreloadEvent, PlanEvent, ProgressEvent, FailureEvent } from './events.js';
export type { ResolvedSymbol, AssetClass } from './symbols.js';
export type { MarketDataServer } from './serve/server.js';
export type { ServeOptions } from './serve/options.js';
