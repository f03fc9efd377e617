import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests, and integration tests against real Kafka/Redis/Postgres
// (the testkit finds or starts them; see libs/testkit).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['libs/**/*.test.ts', 'services/**/*.test.ts', 'bench/**/*.test.ts', 'deploy/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['libs/**/*.int.test.ts', 'services/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['libs/testkit/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Worker limits (maxWorkers, fileParallelism) are root-only options in vitest 3; files run in
          // parallel by default and stay isolated by unique topics, groups, key prefixes and schemas.
        },
      },
    ],
  },
});
