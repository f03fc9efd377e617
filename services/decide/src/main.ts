// The decide process: the only place that reads the environment and opens connections.
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { PgKeyVerifier, PgSqlClient, createPool } from '@tinycdp/postgres';
import { createDecideApp, decideRedisOptions } from './app';
import { parseConfig } from './config';

async function main() {
  const config = parseConfig(process.env);
  const logger = pino({ level: config.LOG_LEVEL }).child({ service: 'decide' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const redis = new Redis(config.REDIS_URL, decideRedisOptions(config.TINYCDP_DECIDE_REDIS_TIMEOUT_MS));
  redis.on('error', (err) => logger.debug({ err: err.message }, 'redis_error'));
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    max: 4,
    applicationName: 'tinycdp-decide',
    statementTimeoutMs: 2_000,
  });
  const keys = new PgKeyVerifier(new PgSqlClient(pool), {
    onError: (err) => logger.warn({ err: (err as Error).message }, 'key_store_unavailable'),
  });

  const app = createDecideApp({
    redis,
    keys,
    prefix: config.TINYCDP_REDIS_PREFIX,
    clock: systemClock,
    logger,
    registry,
    redisTimeoutMs: config.TINYCDP_DECIDE_REDIS_TIMEOUT_MS,
  });
  const { port } = await app.listen(config.PORT, config.HOST);
  logger.info({ port }, 'decide_listening');

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'decide_stopping');
    await app.close();
    redis.disconnect();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
