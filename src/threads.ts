// A worker thread of our own (a store's scan: export's and check's), started from the built
// JavaScript or, under the TypeScript sources (tests, tsx), from its .ts file through tsx's
// loader. The download pool (piscina) has its own way: it passes `--import tsx` to its threads.
import { Worker } from 'node:worker_threads';

/**
 * Starts `./<name>.js` (or `.ts` from the sources) beside the module whose `import.meta.url` is
 * `from`, with `workerData`.
 */
export function startThread(from: string, name: string, workerData: unknown): Worker {
  const fromSource = from.endsWith('.ts');
  const entry = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, from);
  if (!fromSource) return new Worker(entry, { workerData });
  // A JavaScript entry point registers tsx's loader, then imports the .ts thread (`--import tsx`
  // in execArgv did not reach a plain Worker's entry point: tried, on Node 20).
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}));`;
  return new Worker(code, { eval: true, workerData });
}
