import http from 'node:http';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Processor } from '../app';

/**
 * The processor's only HTTP surface: `/processor/health` (Redis + Kafka lag per partition) and
 * `/metrics`. A bare node:http server: there is nothing else to route.
 */
export function startProcessorHttp(opts: {
  port: number;
  processor: Processor;
  redis: Redis;
  registry: Registry;
  /** More named checks (e.g. the Redis state epoch); a rejection makes the answer 503. */
  checks?: Record<string, () => Promise<void>>;
}): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const url = req.url ?? '/';
    try {
      if (url === '/metrics') {
        await opts.processor.lag().catch(() => undefined);
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(await opts.registry.metrics());
        return;
      }
      if (url === '/processor/health' || url === '/health') {
        const checks: Record<string, unknown> = {};
        let ok = true;
        const t0 = performance.now();
        try {
          await opts.redis.ping();
          checks.redis = { status: 'ok', latencyMs: +(performance.now() - t0).toFixed(2) };
        } catch (err) {
          ok = false;
          checks.redis = { status: 'down', error: (err as Error).message };
        }
        const t1 = performance.now();
        try {
          const lag = await opts.processor.lag();
          checks.kafka = { status: 'ok', latencyMs: +(performance.now() - t1).toFixed(2), lag };
        } catch (err) {
          ok = false;
          checks.kafka = { status: 'down', error: (err as Error).message };
        }
        for (const [name, check] of Object.entries(opts.checks ?? {})) {
          const t2 = performance.now();
          try {
            await check();
            checks[name] = { status: 'ok', latencyMs: +(performance.now() - t2).toFixed(2) };
          } catch (err) {
            ok = false;
            checks[name] = { status: 'down', error: (err as Error).message };
          }
        }
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'degraded', service: 'processor', checks }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${url}`, details: null } }));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: (err as Error).message, details: null } }));
    }
  });
  // Bound slow clients (slowloris): headers within 10 s, a whole request within 60 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  return new Promise((resolve) => server.listen(opts.port, '0.0.0.0', () => resolve(server)));
}
