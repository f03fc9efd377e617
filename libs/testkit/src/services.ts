import { inject } from 'vitest';
import { splitBrokers, type TestServices } from './internal/test-services';

export type { TestServices };

declare module 'vitest' {
  export interface ProvidedContext {
    tinycdpServices: TestServices;
  }
}

/**
 * The Kafka/Redis/Postgres addresses for this test run: what the integration project's globalSetup
 * provided, else `KAFKA_BROKERS` / `REDIS_URL` / `DATABASE_URL` from the environment.
 * @throws Error when neither is available (a test outside the `integration` vitest project).
 */
export function getServices(): TestServices {
  let provided: TestServices | undefined;
  try {
    provided = inject('tinycdpServices');
  } catch {
    provided = undefined; // not inside a vitest worker
  }
  if (provided) return provided;
  const { KAFKA_BROKERS, REDIS_URL, DATABASE_URL, SCHEMA_REGISTRY_URL } = process.env;
  if (KAFKA_BROKERS && REDIS_URL && DATABASE_URL) {
    return {
      kafkaBrokers: splitBrokers(KAFKA_BROKERS),
      redisUrl: REDIS_URL,
      databaseUrl: DATABASE_URL,
      schemaRegistryUrl: SCHEMA_REGISTRY_URL || null,
      ...(SCHEMA_REGISTRY_URL ? {} : { schemaRegistryProblem: 'SCHEMA_REGISTRY_URL is not set' }),
    };
  }
  throw new Error(
    'getServices(): no services were provided. Run integration tests through the vitest "integration" project ' +
      '(its globalSetup libs/testkit/src/global-setup.ts finds or starts Kafka, Redis and Postgres), ' +
      'or set KAFKA_BROKERS, REDIS_URL and DATABASE_URL.',
  );
}

/**
 * The schema registry URL of this run (see `TestServices.schemaRegistryUrl`).
 * @throws Error naming why there is none (no Java 21+, Maven fetch failed, SCHEMA_REGISTRY_URL down …).
 */
export function getSchemaRegistryUrl(): string {
  const s = getServices();
  if (s.schemaRegistryUrl) return s.schemaRegistryUrl;
  throw new Error(
    `no schema registry for this test run: ${s.schemaRegistryProblem ?? 'unknown reason'}. ` +
      'Set SCHEMA_REGISTRY_URL (a Confluent-compatible API root), or install Java 21+ and Maven so ' +
      'scripts/registry.sh can run Apicurio Registry from Maven Central.',
  );
}
