// vitest globalSetup of the `integration` project (see vitest.config.ts): resolves Kafka, Redis and
// Postgres once per run, hands them to tests via provide/inject (`getServices()`), and mirrors them into
// process.env so child processes (services started by tests) see the same addresses.
import type { TestProject } from 'vitest/node';
import { resolveServices } from './internal/resolve-services';
// Type-only: brings the `ProvidedContext` augmentation (services.ts) into scope without loading vitest's runtime.
import type {} from './services';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.log(`[testkit] ${line}`);
  const started = Date.now();
  const resolved = await resolveServices(log);
  const { services, sources } = resolved;
  project.provide('tinycdpServices', services);
  process.env.KAFKA_BROKERS = services.kafkaBrokers.join(',');
  process.env.REDIS_URL = services.redisUrl;
  process.env.DATABASE_URL = services.databaseUrl;
  // SCHEMA_REGISTRY_URL is deliberately not mirrored: services spawned by other tests would switch to the
  // wire format. Registry tests get it from getSchemaRegistryUrl() and pass it on explicitly.
  log(
    `services in ${((Date.now() - started) / 1000).toFixed(1)}s: ` +
      `kafka ${process.env.KAFKA_BROKERS} (${sources.kafka}), redis ${services.redisUrl} (${sources.redis}), ` +
      `postgres ${services.databaseUrl} (${sources.postgres}), ` +
      `schema registry ${services.schemaRegistryUrl ?? `none: ${services.schemaRegistryProblem}`} (${sources.registry})`,
  );
  return resolved.teardown;
}
