/**
 * The thin node:http router for the hot routes (and the lean front's route, `fastDecideRoute`, which
 * serves GET /v1/decide ahead of node:http: fast-http.ts). Everything it does not match goes to express.
 *
 * Why not express for these: same handlers, same data, same run (bench/decide.ts, `router: 'express'`
 * variant, 2-core box shared with other jobs): express 5 cost 1.8–2.6× the server CPU per request of
 * this router (262 vs 145 µs, 463 vs 175 µs in two runs) and reached 0.63× / 0.27× of its max rps.
 * Its router stack, query parser and req/res prototype swaps run on every request, while the route's
 * own work is one Redis round trip and a few µs of evaluation. Health, metrics and 404s stay on
 * express (libs/http helpers), where per-request cost does not matter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecideMetrics, RouteName } from '../metrics';
import type { FastRoute } from './fast-http';
import type { Answer } from './io';
import type { Handler } from './routes';

export interface HotRoutes {
  readonly decideGet: Handler;
  readonly decidePost: Handler;
  readonly ofrepFlag: Handler;
  readonly ofrepBulk: Handler;
}

const OFREP_FLAGS = '/ofrep/v1/evaluate/flags';

interface Match {
  readonly route: RouteName;
  readonly handler: Handler;
  readonly param: string;
}

/** Finds the hot route for a method and path, or null (then express answers, including 404/405). */
export function matchHotRoute(routes: HotRoutes, method: string | undefined, path: string): Match | null {
  if (path === '/v1/decide') {
    if (method === 'GET') return { route: 'decide_get', handler: routes.decideGet, param: '' };
    if (method === 'POST') return { route: 'decide_post', handler: routes.decidePost, param: '' };
    return null;
  }
  if (method !== 'POST' || !path.startsWith(OFREP_FLAGS)) return null;
  if (path.length === OFREP_FLAGS.length || path === `${OFREP_FLAGS}/`) {
    return { route: 'ofrep_bulk', handler: routes.ofrepBulk, param: '' };
  }
  if (path[OFREP_FLAGS.length] !== '/') return null;
  const key = path.slice(OFREP_FLAGS.length + 1);
  if (key === '' || key.includes('/')) return null;
  return { route: 'ofrep_flag', handler: routes.ofrepFlag, param: key };
}

/**
 * Runs `req` through the hot routes; returns false when none matches (the caller hands it on).
 * Observes latency per route.
 */
export function hotRouter(routes: HotRoutes, metrics: DecideMetrics) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const m = matchHotRoute(routes, req.method, path);
    if (m === null) return false;
    const started = performance.now();
    m.handler(req, res, q === -1 ? '' : url.slice(q + 1), m.param).then(
      (status) => metrics.observe(m.route, status, (performance.now() - started) / 1000),
      // Handlers answer their own errors; reaching here means the response itself broke.
      () => res.destroy(),
    );
    return true;
  };
}

/**
 * The route of the lean front (fast-http.ts): GET /v1/decide, answered by `decideGet`
 * (routes.ts decideGetAnswer); any other path is declined (node:http serves it). Observes latency.
 */
export function fastDecideRoute(
  decideGet: (authorization: string | undefined, query: string) => Promise<Answer>,
  metrics: DecideMetrics,
): FastRoute {
  return (req) => {
    if (req.path !== '/v1/decide') return null;
    const started = performance.now();
    return decideGet(req.authorization, req.query).then((a) => {
      metrics.observe('decide_get', a.status, (performance.now() - started) / 1000);
      return a;
    });
  };
}
