// The raw mirror's module, loaded by a thread only once a task uses the mirror (--keep-raw,
// --offline). It imports the S3 listing module for its key parser, and with it the AWS SDK:
// ~150 ms of CPU and ~10 MB in every thread at start-up (measured here) for a run that never
// touches the mirror.
type RawModule = typeof import('../cache/raw.js');

let loading: Promise<RawModule> | undefined;

export function rawMirror(): Promise<RawModule> {
  loading ??= load();
  return loading;
}

async function load(): Promise<RawModule> {
  if (!import.meta.url.endsWith('.ts')) return import('../cache/raw.js');
  // Under the TypeScript sources (tests), tsx's hooks do not reach an import() made after a
  // worker thread has started: import the source through tsx's own API.
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport('../cache/raw.ts', import.meta.url)) as RawModule;
}
