import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { register as defaultRegistry, type Registry } from 'prom-client';
import type { Clock } from '@tinycdp/common';
import { LIMITS } from '@tinycdp/events';
import { errorMiddleware, healthRoute, metricsRoute, notFound, type HealthCheck, type KeyVerifier } from '@tinycdp/http';
import type { EventSink } from './ports';
import { trackingRoutes, type IngestLimits } from './http/tracking-routes';
import { requestsCounter } from './metrics';

export interface IngestDeps {
  readonly sink: EventSink;
  readonly keys: KeyVerifier;
  readonly clock: Clock;
  readonly logger: Logger;
  /** messageId for events without one (default: random UUID v4). */
  readonly newId?: () => string;
  /** Override the LIMITS of libs/events (tests). */
  readonly limits?: Partial<IngestLimits>;
  /** Registry served at GET /metrics (default: prom-client's global registry). */
  readonly registry?: Registry;
}

/**
 * Builds the ingest HTTP app from its dependencies: the Segment-compatible tracking API
 * (/v1/track … /v1/batch), GET /ingest/health and /health (event log reachability), GET /metrics.
 * Opens nothing itself; main.ts (or a test) wires real or in-memory dependencies.
 */
export function createIngestApp(deps: IngestDeps): Express {
  const limits: IngestLimits = {
    maxMessageBytes: deps.limits?.maxMessageBytes ?? LIMITS.maxMessageBytes,
    maxBatchBytes: deps.limits?.maxBatchBytes ?? LIMITS.maxBatchBytes,
    maxBatchItems: deps.limits?.maxBatchItems ?? LIMITS.maxBatchItems,
  };
  const logger = deps.logger;
  const app = express();
  app.disable('x-powered-by');

  app.use((req, res, next) => {
    res.on('finish', () => {
      if (req.path.startsWith('/v1/')) requestsCounter.inc({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) });
    });
    next();
  });

  app.use(
    trackingRoutes({ sink: deps.sink, keys: deps.keys, clock: deps.clock, logger, newId: deps.newId ?? randomUUID, limits }),
  );

  const checks: Record<string, HealthCheck> = {};
  const ping = deps.sink.ping?.bind(deps.sink);
  if (ping) checks['eventLog'] = ping;
  const health = healthRoute('ingest', checks);
  app.get('/ingest/health', health);
  app.get('/health', health);
  app.get('/metrics', metricsRoute(deps.registry ?? defaultRegistry));

  app.use(notFound());
  app.use(errorMiddleware({ logger }));
  return app;
}
