// Lint exists mainly to enforce the architecture: pure core libs never import adapters or services.
import { createProjectGraphAsync } from '@nx/devkit';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// @nx/enforce-module-boundaries only reads a *cached* project graph; without one (fresh clone, no daemon)
// it prints a warning and silently skips every check. Build/refresh the graph before any file is linted,
// and fail loudly if that is impossible. (libs/testkit/src/boundaries.test.ts proves the rule fires.)
await createProjectGraphAsync({ exitOnError: false });

const depConstraints = [
  { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:adapter', onlyDependOnLibsWithTags: ['scope:core', 'scope:adapter'] },
  { sourceTag: 'scope:service', onlyDependOnLibsWithTags: ['scope:core', 'scope:adapter', 'scope:service'] },
  { sourceTag: 'scope:testkit', onlyDependOnLibsWithTags: ['scope:core', 'scope:adapter', 'scope:service', 'scope:testkit'] },
  { sourceTag: 'scope:bench', onlyDependOnLibsWithTags: ['*'] }
];

const boundaries = (constraints) => [
  'error',
  {
    // The top-level schemas/ folder (shared JSON Schemas, not an Nx project) may be imported as JSON.
    allow: ['^(\\.\\./)+schemas/[\\w.-]+\\.json$'],
    // No lazy-loaded bundles here: a runtime `await import('@tinycdp/x')` (backend choice in the CLI, tests)
    // must not turn every static import of that lib in the same project into an error.
    checkDynamicDependenciesExceptions: ['@tinycdp/*'],
    depConstraints: constraints
  }
];

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '.nx/**', '.tinycdp/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-eval': 'error',
      'no-new-func': 'error',
      '@nx/enforce-module-boundaries': boundaries(depConstraints)
    }
  },
  {
    // Tests (unit and integration) of any scope may use @tinycdp/testkit; production code may not.
    files: ['**/*.test.ts'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(
        depConstraints.map((c) =>
          c.onlyDependOnLibsWithTags.includes('*')
            ? c
            : { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'scope:testkit'] }
        )
      )
    }
  }
];
