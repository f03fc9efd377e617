import { systemClock, type Clock } from '@tinycdp/common';
import { errorMiddleware, healthRoute, jsonBody, metricsRoute, notFound, requireScope, type KeyVerifier } from '@tinycdp/http';
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
import { adminRegistry } from './metrics';

export interface AdminDeps {
  readonly db: SqlClient;
  readonly keys: KeyVerifier;
  readonly clock?: Clock;
  readonly logger: Logger;
  readonly profiles?: ProfileReader;
  /** Called after every committed definition change: wire to `OutboxRelay.notify`. */
  readonly onDefinitionsChanged?: () => void;
  /** Registry served at /metrics (default: admin's own). */
  readonly registry?: Registry;
  /** JSON body limit in bytes (default 256 KiB). */
  readonly bodyLimit?: number;
}

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
  admin.use(jsonBody({ limit: deps.bodyLimit ?? 256 * 1024 }));
  admin.use('/traits', createTraits(features).router);
  admin.use('/segments', createSegments(features).router);
  admin.use('/flags', createFlags(features).router);
  admin.use('/keys', createKeys({ db: deps.db, clock, logger }).router);
  admin.use('/expressions', createExpressions({ db: deps.db, clock, profiles: deps.profiles }).router);
  admin.use('/profiles', createProfiles({ db: deps.db, clock, profiles: deps.profiles }).router);
  app.use('/v1/admin', admin);

  app.use(notFound());
  app.use(errorMiddleware({ logger }));
  return app;
}
