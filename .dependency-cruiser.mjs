// The layering rule of `npm run lint` (docs/architecture.md, "Layers"): a module imports only from
// its own layer and the layers below it, and nothing imports in a cycle, type imports included
// (tsPreCompilationDeps). Run time, measured on this tree (247 modules, 1,220 imports; 2 cores
// at a load average of 10): 5.8-6.5 s wall, 3.1-3.3 s of CPU, for src/, bench/, test/ and examples/.

/** The layers of src/, bottom first, named as docs/architecture.md names them. */
const LAYERS = [
  // The leaves: shared types, errors, market time, symbols, events, corporate actions' types,
  // store URLs, the retry helper. They import one another only.
  { name: 'leaf', path: '^src/(types|errors|market-time|symbols|events|corporate-actions|store-url|retry|threads)[.]ts$' },
  { name: 'transport', path: '^src/(s3|parse|integrity)/' },
  { name: 'options', path: '^src/options[.]ts$' },
  { name: 'raw', path: '^src/raw/' },
  { name: 'pool', path: '^src/pool/' },
  { name: 'store', path: '^src/store/' },
  { name: 'plan', path: '^src/plan[.]ts$' },
  { name: 'actions', path: '^src/actions/' },
  { name: 'run', path: '^src/run/' },
  // The library's functions: runs (preload, sync), progress, reads (read/: fetchSymbol runs a preload).
  { name: 'api', path: '^src/((preload|sync|job-progress)[.]ts$|read/)' },
  // check/: what the store holds that looks wrong (reads the store and the stored actions only).
  { name: 'check', path: '^src/check/' },
  { name: 'export', path: '^src/export/' },
  // serve/: the provider's REST API answered from the store (answers in serve/api/, the HTTP shell beside them).
  { name: 'serve', path: '^src/serve/' },
  { name: 'door', path: '^src/(index[.]ts$|cli/)' },
];

// The top layer has nothing above it, hence no rule.
const upward = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `The ${layer.name} layer imports only from itself and the layers below it (${LAYERS.slice(0, i)
    .map((l) => l.name)
    .join(', ') || 'none'}).`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(i + 1).map((l) => `(${l.path})`) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle anywhere, type imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'unlayered',
      comment: 'Every module of src/ belongs to a layer: a new folder or top-level module gets one here and in docs/architecture.md.',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.map((l) => `(${l.path})`) },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
