// Lint: typescript-eslint's type-aware rules (promises above all: a floating or misused promise
// is how a write races close()). Import cycles and the layers are checked by dependency-cruiser in
// `npm run lint` (.dependency-cruiser.mjs), because import-x/no-cycle does not follow `import type`
// (measured on this tree: it reported none of the two type-import cycles then present).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.bench-data/', '.demo-data/', '.scratch/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', '.dependency-cruiser.mjs'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `void promise` too: a write left floating is the bug this rule is here for.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      // The Store and WorkQueue interfaces return promises; the SQLite store answers them from a
      // synchronous driver. Its methods stay `async` on purpose, so that a throw (SQLITE_BUSY, a
      // constraint) reaches the caller as a rejection, as PostgreSQL's would, never synchronously.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
