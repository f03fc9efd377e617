// Lint exists mainly to enforce the architecture: pure core libs never import adapters or services.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

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
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core'] },
            { sourceTag: 'scope:adapter', onlyDependOnLibsWithTags: ['scope:core', 'scope:adapter'] },
            { sourceTag: 'scope:service', onlyDependOnLibsWithTags: ['scope:core', 'scope:adapter', 'scope:service'] },
            { sourceTag: 'scope:testkit', onlyDependOnLibsWithTags: ['scope:core', 'scope:adapter', 'scope:service', 'scope:testkit'] },
            { sourceTag: 'scope:bench', onlyDependOnLibsWithTags: ['*'] }
          ]
        }
      ]
    }
  }
];
