import { z } from 'zod';
import { PRODUCE_THREAD_SETTING, produceThread } from '@tinycdp/kafka';

export { produceThread };

const brokerList = z
  .string({ error: 'is required (comma-separated host:port list)' })
  .transform((s) => s.split(',').map((b) => b.trim()).filter((b) => b !== ''))
  .pipe(
    z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port'))
      .min(1, 'must list at least one broker (host:port)'),
  );

/** The ingest process's environment. Parsed once in main.ts; every problem reported at once. */
export const IngestConfigSchema = z.object({
  KAFKA_BROKERS: brokerList,
  PORT: z.coerce.number({ error: 'must be a port number (0-65535)' }).int().min(0).max(65_535).default(4001),
  TINYCDP_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may only contain letters, digits, ".", "_" and "-"')
    .max(200)
    .default('tinycdp.'),
  /** Partitions of the topics ingest creates at start-up if missing; existing topics keep theirs. */
  TINYCDP_PARTITIONS: z.coerce
    .number({ error: 'must be a whole number from 1 to 1024' })
    .int('must be a whole number from 1 to 1024')
    .min(1, 'must be a whole number from 1 to 1024')
    .max(1024, 'must be a whole number from 1 to 1024')
    .default(6),
  /** Replication factor of the topics it creates: use 3 on a real cluster (1 suits a single broker). */
  TINYCDP_REPLICATION_FACTOR: z.coerce
    .number({ error: 'must be a whole number from 1 to 32' })
    .int('must be a whole number from 1 to 32')
    .min(1, 'must be a whole number from 1 to 32')
    .max(32, 'must be a whole number from 1 to 32')
    .default(1),
  // API keys live in Postgres (admin writes them); ingest verifies them there, cached.
  DATABASE_URL: z
    .string({ error: 'is required (postgres://…): ingest verifies API keys against the admin database' })
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Confluent-compatible schema registry API root; set → events are written in the wire format. */
  SCHEMA_REGISTRY_URL: z.string().url('must be an http(s) URL').optional(),
  /** Produce from a thread of its own (@tinycdp/kafka `produceThread`): auto (default), true or false. */
  TINYCDP_PRODUCE_THREAD: z.string().regex(PRODUCE_THREAD_SETTING, 'must be auto, true or false').default('auto'),
});

export interface IngestConfig {
  readonly kafkaBrokers: readonly string[];
  readonly port: number;
  readonly topicPrefix: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly databaseUrl: string;
  readonly logLevel: string;
  readonly schemaRegistryUrl: string | undefined;
  readonly produceThread: boolean;
}

/**
 * Parses the environment into a frozen config.
 * @throws Error listing every invalid or missing variable (the process must refuse to start).
 */
export function loadIngestConfig(env: Readonly<Record<string, string | undefined>>): IngestConfig {
  const r = IngestConfigSchema.safeParse(env);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `  ${String(i.path[0] ?? '(env)')}: ${i.message}`);
    throw new Error(`invalid ingest configuration:\n${problems.join('\n')}`);
  }
  const c = r.data;
  return Object.freeze({
    kafkaBrokers: Object.freeze([...c.KAFKA_BROKERS]),
    port: c.PORT,
    topicPrefix: c.TINYCDP_TOPIC_PREFIX,
    partitions: c.TINYCDP_PARTITIONS,
    replicationFactor: c.TINYCDP_REPLICATION_FACTOR,
    databaseUrl: c.DATABASE_URL,
    logLevel: c.LOG_LEVEL,
    schemaRegistryUrl: c.SCHEMA_REGISTRY_URL,
    produceThread: produceThread(c.TINYCDP_PRODUCE_THREAD),
  });
}

