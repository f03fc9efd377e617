import type { IncomingMessage, ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import type { KeyVerifier } from '@tinycdp/http';
import { createDecideApp, decideRedisOptions } from '@tinycdp/decide';
import type { StateBackend } from './backends';

export interface MountedDecide {
  handler(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** Decide over the state backend: its own bounded-timeout Redis connection, or the in-memory state. */
export async function createDecideForBackend(state: StateBackend, keys: KeyVerifier, logger: Logger, registry: Registry): Promise<MountedDecide> {
  if (state.kind === 'redis') {
    const redis = new Redis(state.redisUrl!, decideRedisOptions());
    const app = createDecideApp({ redis, keys, prefix: state.prefix, clock: systemClock, logger, registry });
    await app.start();
    return {
      handler: app.handler,
      async close() {
        await app.close();
        redis.disconnect();
      },
    };
  }
  throw new Error('decide over in-memory state is not wired yet');
}
