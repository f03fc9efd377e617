import type { IncomingMessage, ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import type { KeyVerifier } from '@tinycdp/http';
import { createDecideApp, decideRedisOptions, type DefinitionFeed, type ProfileSource, type ResolvedProfile, type Target } from '@tinycdp/decide';
import type { MemoryDefinitionCache } from '@tinycdp/embedded';
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
  const app = createDecideApp({
    keys,
    prefix: state.prefix,
    clock: systemClock,
    logger,
    registry,
    profiles: memoryProfileSource(state.repo),
    definitions: memoryDefinitionFeed(state.definitions as MemoryDefinitionCache),
  });
  await app.start();
  return { handler: app.handler, close: () => app.close() };
}

/** Decide's profile reads over the in-memory state (same resolution rules as resolve-profile.lua). */
function memoryProfileSource(repo: StateBackend['repo']): ProfileSource {
  return {
    async read(targets: readonly Target[]): Promise<ResolvedProfile[]> {
      return Promise.all(
        targets.map(async (t): Promise<ResolvedProfile> => {
          if (t.kind === 'user') {
            const p = (await repo.load([{ id: t.userId }])).get(t.userId)!;
            return { target: t, profileId: t.userId, userId: t.userId, anonymousId: null, fields: { ...p.fields } };
          }
          const linked = (await repo.resolveLinks([t.anonymousId])).get(t.anonymousId) ?? null;
          if (linked !== null) {
            const u = (await repo.load([{ id: linked }])).get(linked)!;
            if (u.rev > 0) return { target: t, profileId: linked, userId: linked, anonymousId: t.anonymousId, fields: { ...u.fields } };
          }
          const a = (await repo.load([{ id: t.anonymousId }])).get(t.anonymousId)!;
          return { target: t, profileId: t.anonymousId, userId: linked, anonymousId: t.anonymousId, fields: { ...a.fields } };
        }),
      );
    },
  };
}

/** Decide's definitions over the in-memory definition cache (change notices are in-process calls). */
function memoryDefinitionFeed(cache: MemoryDefinitionCache): DefinitionFeed {
  let stop: (() => void) | null = null;
  return {
    load: () => cache.all(),
    listen(onNotice) {
      stop = cache.onChange(() => onNotice());
    },
    ready: async () => undefined,
    close() {
      stop?.();
      stop = null;
    },
  };
}
