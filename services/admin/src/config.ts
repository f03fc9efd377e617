import { z } from 'zod';

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

/** Admin configuration: parsed once at start-up; every problem reported at once; frozen. */
const schema = z.object({
  DATABASE_URL: z
    .string({ message: 'DATABASE_URL is required for the admin service (postgres://…)' })
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4003),
  // Operator-chosen secret stored as a fast sha-256: it must be long enough to be unguessable.
  TINYCDP_ADMIN_KEY: z.string().min(24, 'TINYCDP_ADMIN_KEY must be at least 24 characters').optional(),
  TINYCDP_MIGRATE: bool.default(true),
  /** Optional: where processors report rollout status and keep segment members (shown by admin). */
  REDIS_URL: z.string().url('REDIS_URL must be a redis:// URL').optional(),
  TINYCDP_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]*$/).default('tinycdp:'),
  // Where committed changes are published (the definitions topic). Without it the outbox keeps them.
  KAFKA_BROKERS: z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, 'KAFKA_BROKERS must be a comma-separated host:port list').optional(),
  TINYCDP_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default('tinycdp.'),
  /** Partitions of the topics admin creates at start-up (with KAFKA_BROKERS) if missing; existing ones keep theirs. */
  TINYCDP_PARTITIONS: z.coerce
    .number({ message: 'TINYCDP_PARTITIONS must be a whole number from 1 to 1024' })
    .int('TINYCDP_PARTITIONS must be a whole number from 1 to 1024')
    .min(1, 'TINYCDP_PARTITIONS must be a whole number from 1 to 1024')
    .max(1024, 'TINYCDP_PARTITIONS must be a whole number from 1 to 1024')
    .default(6),
  /** Replication factor of the topics it creates: use 3 on a real cluster (1 suits a single broker). */
  TINYCDP_REPLICATION_FACTOR: z.coerce
    .number({ message: 'TINYCDP_REPLICATION_FACTOR must be a whole number from 1 to 32' })
    .int('TINYCDP_REPLICATION_FACTOR must be a whole number from 1 to 32')
    .min(1, 'TINYCDP_REPLICATION_FACTOR must be a whole number from 1 to 32')
    .max(32, 'TINYCDP_REPLICATION_FACTOR must be a whole number from 1 to 32')
    .default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type AdminConfig = Readonly<z.infer<typeof schema>>;

/** Throws one Error listing every invalid variable (values of secrets are never echoed). */
export function parseConfig(env: Record<string, string | undefined>): AdminConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid admin configuration:\n${problems}`);
  }
  return Object.freeze(r.data);
}
