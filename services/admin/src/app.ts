import { systemClock, type Clock } from '@tinycdp/common';
import {
  errorMiddleware,
  healthRoute,
  jsonBody,
  metricsRoute,
  notFound,
  rateLimit,
  requireScope,
  type KeyVerifier,
  type RateLimitOptions,
} from '@tinycdp/http';
import type { SqlClient } from '@tinycdp/postgres';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createExpressions } from './features/expressions/create-expressions';
import { createFlags } from './features/flags/create-flags';
import { createKeys } from './features/keys/create-keys';
import { createProfiles } from './features/profiles/create-profiles';
import type { ProfileReader } from './features/profiles/profile-reader.port';
import { createSegments } from './features/segments/create-segments';
import { createTraits } from './features/traits/create-traits';
import type { SegmentMembersReader } from './features/members/segment-members-reader.port';
import type { RolloutStatusReader } from './features/rollout/rollout-status-reader.port';
import { adminRegistry } from './metrics';

export interface AdminDeps {
  readonly db: SqlClient;
  readonly keys: KeyVerifier;
  readonly clock?: Clock;
  readonly logger: Logger;
  readonly profiles?: ProfileReader;
  /** Rollout status the processors report (shown on trait/segment GETs); optional. */
  readonly rolloutStatus?: RolloutStatusReader;
  /** The processor's segment membership index (`/segments/:key/members`, `/count`); optional. */
  readonly members?: SegmentMembersReader;
  /** Called after every committed definition change: wire to `OutboxRelay.notify`. */
  readonly onDefinitionsChanged?: () => void;
  /** Registry served at /metrics (default: admin's own). */
  readonly registry?: Registry;
  /** JSON body limit in bytes (default 256 KiB). */
  readonly bodyLimit?: number;
  /** Per-key rate limit (429 + Retry-After); default ADMIN_RATE_LIMIT, `false` turns it off. */
  readonly rateLimit?: RateLimitOptions | false;
}

/** Admin is a human/CI tool: 50 requests/s per key (burst 100) is far above normal use. */
export const ADMIN_RATE_LIMIT: RateLimitOptions = Object.freeze({ ratePerSecond: 50, burst: 100 });

/**
 * The admin HTTP app: `/v1/admin/{traits,segments,flags,keys,expressions,profiles}` (admin scope), plus
 * unauthenticated `GET /admin/health`, `GET /health` and `GET /metrics`. Opens no connections.
 */
export function createAdminApp(deps: AdminDeps): Express {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger;
  const features = { db: deps.db, clock, logger, ...(deps.onDefinitionsChanged ? { onCommitted: deps.onDefinitionsChanged } : {}) };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags here are definition versions, set explicitly
  app.set('query parser', 'simple');

  const health = healthRoute('admin', {
    postgres: async () => {
      await deps.db.query('SELECT 1');
    },
  });
  app.get('/admin/health', health);
  app.get('/health', health);
  app.get('/metrics', metricsRoute(deps.registry ?? adminRegistry));

  const admin = express.Router();
  admin.use(requireScope(deps.keys, 'admin'));
  if (deps.rateLimit !== false) admin.use(rateLimit(deps.rateLimit ?? ADMIN_RATE_LIMIT));
  admin.use(jsonBody({ limit: deps.bodyLimit ?? 256 * 1024, rejectNul: true })); // Postgres text cannot hold U+0000
  admin.use('/traits', createTraits({ ...features, rollout: deps.rolloutStatus }).router);
  admin.use('/segments', createSegments({ ...features, rollout: deps.rolloutStatus, members: deps.members }).router);
  admin.use('/flags', createFlags(features).router);
  admin.use('/keys', createKeys({ db: deps.db, clock, logger }).router);
  admin.use('/expressions', createExpressions({ db: deps.db, clock, profiles: deps.profiles }).router);
  admin.use('/profiles', createProfiles({ db: deps.db, clock, profiles: deps.profiles }).router);
  app.use('/v1/admin', admin);

  app.use(notFound());
  app.use(errorMiddleware({ logger }));
  return app;
}
