// The benchmark's shared types: what a scenario row is and measures, and the context rows run in.
// A leaf of bench/: scenarios.ts and cluster.ts both use it without importing each other.
import type { TestPostgres } from '../../test/fixtures/postgres.js';
import type { RestServer } from '../../test/fixtures/rest-server.js';
import type { ProfileSummary } from './profile.js';
import type { BenchServer } from './server.js';

export const SCENARIOS = ['floor', 'cold', 'sequential', 'layouts', 'multi', 'resume', 'warm', 'minute', 'reference', 'profile', 'cluster', 'all', 'check'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What a run must download, and how it is asked for. */
export interface Workload {
  bucket: string;
  expected: Array<{ key: string; size: number }>;
  /** JSON of `expected`, for the floor client. */
  keysFile: string;
  /** CLI arguments besides the symbols and the common ones (e.g. `--interval 1m`). */
  args: string[];
  /** The server's bandwidth cap while it runs, in megabits a second; 0 = none. */
  mbps: number;
}

export interface Context {
  server: BenchServer;
  bucket: string;
  end: string;
  /** The stock day files of the 5y window: what a cold TSLA run must download. */
  expected: Array<{ key: string; size: number }>;
  /** JSON of `expected`, for the floor client. */
  keysFile: string;
  /** Scratch directory for caches and downloads, removed at the end. */
  tmp: string;
  inFlight: number;
  /** The package as measured: a snapshot of bin/ and dist/ (see snapshotBuild in run.ts). */
  app: string;
  /** Where the profile row's .cpuprofile files go (kept, to open in Chrome DevTools). */
  profileDir: string;
  /** Filled by the profile row. */
  profile?: ProfileSummary;
  /** TSLA's rows in those files (a day it was halted has none): what the rclone + grep row must find. */
  tslaRows: number;
  /** The minute scenario's workloads, when it (or the cluster scenario) was selected. */
  minute?: { month: Workload; uncapped: Workload; large: Workload };
  /** The REST stand-in serving corporate actions, started by the first row that needs it. */
  rest?: Promise<RestServer>;
  /** The cluster scenario's PostgreSQL server, started when it is selected. */
  postgres?: TestPostgres;
  /** The generated store the server serves (its buckets' objects as files), for readers of local disk. */
  storeDir: string;
  notes: string[];
}

export interface Sample {
  wallMs: number;
  rssKb: number | undefined;
  cpuMs: number | undefined;
  /** Files downloaded, and their bytes. */
  files: number;
  bytes: number;
  /** Object GETs the server saw. */
  gets?: number;
  /**
   * Scenario-specific numbers (e.g. resume: files remaining after the kill; `untimedCpuMs`: CPU of
   * the row's own processes outside `cpuMs`, such as the run it killed).
   */
  extra?: Record<string, number>;
}

export interface Row {
  name: string;
  scenario: Scenario;
  /** Runs of this row; default: the `--runs` of the benchmark. */
  runs?: number;
  /** The row whose median wall is this row's "x floor"; default `floor`. */
  floor?: string;
  setup?: () => Promise<void>;
  run(): Promise<Sample>;
}
