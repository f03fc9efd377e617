import { z } from 'zod';

/** Decide configuration: parsed once at start-up; every problem reported at once; frozen. */
const schema = z.object({
  REDIS_URL: z.string().url('REDIS_URL must be a redis:// URL'),
  /** API keys live in Postgres; decide reads them only on a key-cache miss (PgKeyVerifier caches). */
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required by decide (API keys)'),
  TINYCDP_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]*$/).default('tinycdp:'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4003),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Upper bound on the Redis read of one request; past it the flag's default is answered (ERROR). */
  TINYCDP_DECIDE_REDIS_TIMEOUT_MS: z.coerce.number().int().min(1).max(10_000).default(50),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type DecideConfig = Readonly<z.infer<typeof schema>>;

/** @throws Error listing every invalid variable. */
export function parseConfig(env: Record<string, string | undefined>): DecideConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid decide configuration:\n${problems}`);
  }
  return Object.freeze(r.data);
}
