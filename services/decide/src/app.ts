/**
 * Builds the decide service from its dependencies (main.ts opens the connections; tests pass real
 * Redis and an in-memory or Postgres KeyVerifier).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '@tinycdp/common';
import { errorMiddleware, healthRoute, metricsRoute, notFound, type KeyVerifier } from '@tinycdp/http';
import { redisKeys } from '@tinycdp/redis';
import { DecideService } from './decide-service';
import { FlagCache, type DefinitionFeed, type FlagCacheOptions } from './flag-cache';
import { decideMetrics, type RouteName } from './metrics';
import { ProfileReader, type ProfileSource } from './profile-reader';
import { StateCache } from './state-cache';
import { createFastServer } from './http/fast-http';
import { fastDecideRoute, hotRouter, type HotRoutes } from './http/router';
import { decideGet, decideGetAnswer, decidePost, ofrepBulk, ofrepFlag, type Handler, type RouteDeps } from './http/routes';

export const DEFAULT_REDIS_TIMEOUT_MS = 50;
/** Idle keep-alive connections are closed after this; longer than typical load-balancer idle timeouts. */
const KEEP_ALIVE_MS = 65_000;

export interface DecideDeps {
  /**
   * The request connection; build it with `decideRedisOptions` (see there why). Optional only when
   * both `profiles` and `definitions` are given (embedded mode).
   */
  readonly redis?: Redis;
  /** Where profile states come from (default: Redis through `redis`). */
  readonly profiles?: ProfileSource;
  /** Where definitions come from (default: the Redis definitions hash and channel). */
  readonly definitions?: DefinitionFeed;
  readonly keys: KeyVerifier;
  /** Redis key prefix (TINYCDP_REDIS_PREFIX), e.g. 'tinycdp:'. */
  readonly prefix: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Bound on the profile read of one request (default 50 ms); past it defaults are answered (ERROR). */
  readonly redisTimeoutMs?: number;
  /**
   * What serves the hot routes: 'lean' (default: GET /v1/decide answered by the lean HTTP/1.1 front,
   * http/fast-http.ts, the other hot routes by the thin node:http router), 'node' (every hot route on the
   * thin node:http router) or 'express' (same handlers mounted as express routes). The last two are
   * kept so bench/decide.ts can measure the difference.
   */
  readonly router?: 'lean' | 'node' | 'express';
  /** Decoded profile states kept for reuse while unchanged (default 10 000; 0 disables). */
  readonly stateCacheEntries?: number;
  /** Tuning of the definitions cache (tests shorten the periods). */
  readonly flagCache?: Pick<FlagCacheOptions, 'debounceMs' | 'fullReloadMs' | 'retryMs' | 'loadTimeoutMs'>;
}

/**
 * Options for decide's request connection. Chosen so a Redis outage costs a request at most
 * `timeoutMs` and never piles work up:
 * - `enableOfflineQueue: false`: while disconnected, commands fail at once instead of queueing
 *   (a queue would make every request wait for the reconnect and grow without bound);
 * - `maxRetriesPerRequest: 0`: a command caught by a dropped connection fails instead of being
 *   replayed later, when its request has long been answered;
 * - `commandTimeout`: a command on a connected but silent Redis (stalled, half-open socket) is failed
 *   after the budget, so it does not linger; ProfileReader also races its own deadline, which bounds
 *   the request even on connections built without these options.
 * - `enableAutoPipelining: false`: ProfileReader coalesces the writes itself (libs/redis
 *   `coalesceWrites`: the reads of every request of one event-loop turn leave in one socket write).
 *   Auto-pipelining batched the same way but sends one pipeline at a time and keeps each pipeline's
 *   replies alive until all are in: ~25% of every young generation survived a scavenge, ~6% of decide's
 *   time went to GC pauses of up to 10 ms, and the bench's p99 with it. Measured in one run
 *   (bench/decide.ts, 2-vCPU VM): max rate 21.5k → 27.3k req/s, baseline 26.9k → 34.4k.
 * Reconnection is ioredis' own (retryStrategy below), so decide recovers by itself.
 */
export function decideRedisOptions(timeoutMs = DEFAULT_REDIS_TIMEOUT_MS): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: false,
    commandTimeout: Math.max(timeoutMs, 1),
    connectTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(50 * times, 500),
  };
}

export interface DecideApp {
  /** node:http request listener: hot routes first, express for everything else. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly express: Express;
  readonly flags: FlagCache;
  readonly service: DecideService;
  /** Loads the definitions and subscribes to changes. Resolves after the first attempt; never throws. */
  start(): Promise<void>;
  /**
   * Starts (if needed) and listens (the lean front in front of node:http, or node:http alone when
   * `router` is not 'lean'); resolves with the bound port and a loopback URL.
   */
  listen(port?: number, host?: string): Promise<{ server: Server; port: number; url: string }>;
  /** Stops listening, drops connections and the definitions subscription. Leaves `redis` open (the caller owns it). */
  close(): Promise<void>;
}

export function createDecideApp(deps: DecideDeps): DecideApp {
  const log = deps.logger;
  const metrics = decideMetrics(deps.registry);
  const keys = redisKeys(deps.prefix);
  const timeoutMs = deps.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  if (!deps.redis && !(deps.profiles && deps.definitions)) throw new Error('decide needs redis, or both profiles and definitions');
  const flags = new FlagCache({
    ...(deps.definitions ? { feed: deps.definitions } : { redis: deps.redis!, keys }),
    clock: deps.clock,
    logger: log.child({ component: 'definitions' }),
    metrics,
    ...deps.flagCache,
  });
  const reader = deps.profiles ?? new ProfileReader(deps.redis!, keys, timeoutMs);
  const service = new DecideService({
    flags,
    reader,
    clock: deps.clock,
    metrics,
    logger: log,
    states: new StateCache(deps.stateCacheEntries ?? 10_000),
  });
  const routeDeps: RouteDeps = { service, verifier: deps.keys, metrics, logger: log };
  const routes: HotRoutes = {
    decideGet: decideGet(routeDeps),
    decidePost: decidePost(routeDeps),
    ofrepFlag: ofrepFlag(routeDeps),
    ofrepBulk: ofrepBulk(routeDeps),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const router = deps.router ?? 'lean';
  if (router === 'express') {
    const mount = (route: RouteName, h: Handler, param?: (req: Request) => string) => (req: Request, res: Response) => {
      const started = process.hrtime.bigint();
      const q = req.originalUrl.indexOf('?');
      void h(req, res, q === -1 ? '' : req.originalUrl.slice(q + 1), param ? param(req) : '').then((status) =>
        metrics.observe(route, status, Number(process.hrtime.bigint() - started) / 1e9),
      );
    };
    app.get('/v1/decide', mount('decide_get', routes.decideGet));
    app.post('/v1/decide', mount('decide_post', routes.decidePost));
    app.post('/ofrep/v1/evaluate/flags', mount('ofrep_bulk', routes.ofrepBulk));
    app.post(
      '/ofrep/v1/evaluate/flags/:key',
      mount('ofrep_flag', routes.ofrepFlag, (req) => encodeURIComponent(String(req.params.key))),
    );
  }
  const health = healthRoute(
    'decide',
    {
      [deps.redis ? 'redis' : 'state']: async () => {
        await deps.redis?.ping();
      },
      definitions: async () => {
        const s = flags.snapshot;
        if (s === null) throw new Error('flag definitions not loaded yet');
      },
    },
    { timeoutMs: Math.max(250, timeoutMs * 4) },
  );
  app.get('/decide/health', health);
  app.get('/health', health);
  app.get('/metrics', metricsRoute(deps.registry));
  app.use(notFound());
  app.use(errorMiddleware({ logger: log }));

  const hot = router === 'express' ? null : hotRouter(routes, metrics);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (hot !== null && hot(req, res)) return;
    app(req, res);
  };

  let started: Promise<void> | null = null;
  let server: (Server & { closeAllConnections(): void }) | null = null;
  const start = (): Promise<void> => (started ??= flags.start());

  return {
    handler,
    express: app,
    flags,
    service,
    start,
    async listen(port = 0, host = '127.0.0.1') {
      await start();
      // Header and request timeouts bound slow clients (slowloris).
      const http = createServer({ keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: 10_000, requestTimeout: 60_000, connectionsCheckingInterval: 1_000 }, handler);
      const lean = router === 'lean' ? createFastServer(fastDecideRoute(decideGetAnswer(routeDeps), metrics), http, { keepAliveTimeoutMs: KEEP_ALIVE_MS }) : null;
      const s = lean ?? http;
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const bound = (s.address() as AddressInfo).port;
      return { server: s, port: bound, url: `http://${host}:${bound}` };
    },
    async close() {
      const s = server;
      server = null;
      if (s) {
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
      await flags.close();
    },
  };
}
