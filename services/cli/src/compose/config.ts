import { z } from 'zod';
import { PRODUCE_THREAD_SETTING } from '@tinycdp/kafka';
import { fetchThreadSetting } from '@tinycdp/processor';

/**
 * Configuration of the all-in-one process (`tinycdp start`). Each of KAFKA_BROKERS, REDIS_URL and
 * DATABASE_URL switches one backend from embedded to real. Parsed once; every problem reported at once.
 */
const schema = z.object({
  KAFKA_BROKERS: z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, 'comma-separated host:port list').optional(),
  REDIS_URL: z.string().url('must be a redis:// URL').optional(),
  DATABASE_URL: z.string().url('must be a postgres:// URL').optional(),
  TINYCDP_DATA_DIR: z.string().min(1).default('./.tinycdp'),
  TINYCDP_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters (it is stored with a fast hash)').optional(),
  TINYCDP_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default('tinycdp.'),
  TINYCDP_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]*$/).default('tinycdp:'),
  /** Partitions of the Kafka topics created at start-up if missing (the embedded log uses at most 4). */
  TINYCDP_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(6),
  /** Replication factor of the Kafka topics it creates: use 3 on a real cluster (1 suits a single broker). */
  TINYCDP_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).default(1),
  TINYCDP_PROCESSOR_GROUP: z.string().min(1).default('tinycdp-processor'),
  /** With KAFKA_BROKERS: the processor's Kafka client on a thread of its own (as services/processor). */
  TINYCDP_FETCH_THREAD: fetchThreadSetting.default('auto'),
  /** With KAFKA_BROKERS: ingest's producer on a thread of its own (as services/ingest). */
  TINYCDP_PRODUCE_THREAD: z.string().regex(PRODUCE_THREAD_SETTING, 'must be auto, true or false').default('auto'),
  TINYCDP_MIGRATE: z.enum(['true', 'false', '1', '0']).default('true'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type AllInOneConfig = Readonly<z.infer<typeof schema>>;

export function parseAllInOneConfig(env: Record<string, string | undefined>): AllInOneConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = schema.safeParse(cleaned);
  if (!r.success) {
    throw new Error(`invalid configuration:\n${r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return Object.freeze(r.data);
}
