import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { AppError } from '@tinycdp/common';

/** Catch-all: JSON 404 through the error middleware. Mount after every route, before errorMiddleware. */
export function notFound(): RequestHandler {
  return (req, _res, next) => {
    next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
  };
}

export type HealthCheck = () => Promise<void>;

export interface CheckResult {
  readonly status: 'ok' | 'error';
  readonly latencyMs: number;
  readonly error?: string;
}

export interface HealthBody {
  readonly status: 'ok' | 'degraded';
  readonly service: string;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** Runs the checks in parallel, each bounded by `timeoutMs`. Never throws. */
export async function runHealthChecks(
  service: string,
  checks: Readonly<Record<string, HealthCheck>>,
  timeoutMs = 2_000,
): Promise<HealthBody> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { status: 'ok', latencyMs: elapsed(started) }];
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return [name, { status: 'error', latencyMs: elapsed(started), error: message }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const all = Object.fromEntries(entries);
  const ok = entries.every(([, r]) => r.status === 'ok');
  return { status: ok ? 'ok' : 'degraded', service, checks: all };
}

/** GET handler: `{status: 'ok'|'degraded', service, checks: {name: {status, latencyMs, error?}}}`, 200 or 503. */
export function healthRoute(
  service: string,
  checks: Readonly<Record<string, HealthCheck>>,
  options: { timeoutMs?: number } = {},
): RequestHandler {
  return async (_req, res) => {
    const body = await runHealthChecks(service, checks, options.timeoutMs);
    res.status(body.status === 'ok' ? 200 : 503).set('Cache-Control', 'no-store').json(body);
  };
}

/** GET handler for Prometheus: the registry's metrics in its content type. */
export function metricsRoute(register: Registry): RequestHandler {
  return async (_req, res) => {
    const text = await register.metrics();
    res.status(200).set('Content-Type', register.contentType).send(text);
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
