import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { register as defaultRegistry, type Registry } from 'prom-client';
import type { Clock } from '@tinycdp/common';
import { LIMITS } from '@tinycdp/events';
import {
  errorMiddleware,
  healthRoute,
  metricsRoute,
  notFound,
  rateLimitedVerifier,
  type HealthCheck,
  type KeyVerifier,
  type RateLimitOptions,
} from '@tinycdp/http';
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
  /** Per-key rate limit (429 + Retry-After); default INGEST_RATE_LIMIT, `false` turns it off. */
  readonly rateLimit?: RateLimitOptions | false;
}

/** Generous: a guard against a runaway client per instance, far above what one SDK sends. */
export const INGEST_RATE_LIMIT: RateLimitOptions = Object.freeze({ ratePerSecond: 2_000, burst: 4_000 });

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

  // The limit is taken when a key verifies (the routes authenticate themselves, after parsing the body).
  const keys = deps.rateLimit === false ? deps.keys : rateLimitedVerifier(deps.keys, deps.rateLimit ?? INGEST_RATE_LIMIT);
  app.use(
    trackingRoutes({ sink: deps.sink, keys, clock: deps.clock, logger, newId: deps.newId ?? randomUUID, limits }),
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
