import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { Registry, Counter } from 'prom-client';
import { AppError, type ErrorCode } from '@tinycdp/common';
import { STATUS_BY_CODE, errorMiddleware, toHttpError } from './errors';
import { jsonBody } from './body';
import { requireScope, principalOf, type KeyVerifier, type Principal } from './auth';
import { healthRoute, metricsRoute, notFound } from './routes';
import { startServer, type RunningServer } from './server';

const keys: Record<string, Principal> = {
  wk: { id: 'k1', scope: 'write', name: 'ingest key' },
  rk: { id: 'k2', scope: 'read' },
  ak: { id: 'k3', scope: 'admin' },
};
const verifier: KeyVerifier = {
  verify: async (secret) => (secret === 'boom' ? Promise.reject(new AppError('unavailable', 'key store down')) : (keys[secret] ?? null)),
};

const logged: object[] = [];
let srv: RunningServer;
let healthy = true;

beforeAll(async () => {
  const app = express();
  const register = new Registry();
  new Counter({ name: 'test_total', help: 'a test counter', registers: [register] }).inc(3);

  app.post('/echo', jsonBody({ limit: 64, what: 'message' }), (req, res) => {
    res.json({ body: req.body ?? null });
  });
  app.post(
    '/write',
    jsonBody({ limit: 1024 }),
    requireScope(verifier, 'write', { allowBasic: true, allowBodyWriteKey: true }),
    (_req, res) => {
      res.json({ principal: principalOf(res) });
    },
  );
  app.get('/read', requireScope(verifier, 'read'), (_req, res) => {
    res.json({ principal: principalOf(res) });
  });
  app.get('/throw/:code', (req) => {
    const code = req.params['code'] as ErrorCode;
    throw new AppError(code, `failed with ${code}`, { details: code === 'rate_limited' ? { retryAfterSeconds: 7 } : { hint: 'x' } });
  });
  app.get('/crash', async () => {
    throw new Error('secret stack detail at /etc/passwd');
  });
  app.get(
    '/ingest/health',
    healthRoute('ingest', {
      kafka: async () => {
        if (!healthy) throw new Error('broker down');
      },
      slow: () => new Promise((r) => setTimeout(r, healthy ? 1 : 500)),
    }, { timeoutMs: 100 }),
  );
  app.get('/metrics', metricsRoute(register));
  app.use(notFound());
  app.use(errorMiddleware({ logger: { error: (o) => logged.push(o), warn: () => undefined } }));
  srv = await startServer(app);
});
afterAll(async () => srv.close());

const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(srv.url + path, { method: 'POST', body, headers });
const json = async (r: Response): Promise<any> => r.json();
const basic = (user: string, pass = '') => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('errorMiddleware', () => {
  it('has a status for every code', () => {
    expect(STATUS_BY_CODE).toEqual({
      bad_request: 400, validation_failed: 400, invalid_json: 400, unauthorized: 401, forbidden: 403, not_found: 404,
      conflict: 409, precondition_failed: 412, payload_too_large: 413, rate_limited: 429, internal: 500, unavailable: 503, timeout: 504,
    });
  });

  it.each(Object.entries(STATUS_BY_CODE).filter(([c]) => c !== 'internal'))('%s → %i with the error body', async (code, status) => {
    const r = await fetch(`${srv.url}/throw/${code}`);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    const body = await json(r);
    expect(body).toEqual({ error: { code, message: `failed with ${code}`, details: code === 'rate_limited' ? { retryAfterSeconds: 7 } : { hint: 'x' } } });
    if (code === 'unavailable') expect(r.headers.get('retry-after')).toBe('1');
    else if (code === 'rate_limited') expect(r.headers.get('retry-after')).toBe('7');
    else expect(r.headers.get('retry-after')).toBeNull();
  });

  it('never leaks internals of unknown errors', async () => {
    const r = await fetch(`${srv.url}/crash`);
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error', details: null } });
    expect(text).not.toMatch(/passwd|stack|at /);
    expect(logged.length).toBeGreaterThan(0);
  });

  it('maps a plain internal AppError to a generic message too', () => {
    expect(toHttpError(new AppError('internal', 'SELECT * FROM keys failed')).body.error.message).toBe('internal error');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const r = await fetch(`${srv.url}/nope`);
    expect(r.status).toBe(404);
    expect(await json(r)).toEqual({ error: { code: 'not_found', message: 'no route for GET /nope', details: null } });
  });
});

describe('jsonBody', () => {
  it('parses JSON with application/json, text/plain, or no content-type', async () => {
    for (const headers of [{ 'content-type': 'application/json; charset=utf-8' }, { 'content-type': 'text/plain' }, {}] as Record<string, string>[]) {
      const r = await post('/echo', '{"a":1}', headers);
      expect(r.status).toBe(200);
      expect(await json(r)).toEqual({ body: { a: 1 } });
    }
  });

  it('invalid JSON → 400 invalid_json naming the position', async () => {
    const r = await post('/echo', '{"a":1,}');
    expect(r.status).toBe(400);
    const body = await json(r);
    expect(body.error.code).toBe('invalid_json');
    expect(body.error.message).toMatch(/not valid JSON \(at position 7\)/);
    expect(body.error.details).toEqual({ position: 7 });
  });

  it('a bare JSON string is rejected (strict)', async () => {
    const r = await post('/echo', '"hello"');
    expect(r.status).toBe(400);
    expect((await json(r)).error.code).toBe('invalid_json');
  });

  it('too large → 413 payload_too_large naming the limit', async () => {
    const r = await post('/echo', JSON.stringify({ s: 'x'.repeat(100) }));
    expect(r.status).toBe(413);
    const body = await json(r);
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.message).toBe('message is 108 bytes; the limit is 64 bytes');
  });

  it('parses JSON whatever the content-type says (curl -d sends form-urlencoded)', async () => {
    const r = await post('/echo', '{"a":2}', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(await json(r)).toEqual({ body: { a: 2 } });
    const bad = await post('/echo', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.code).toBe('invalid_json');
  });

  it('an empty body parses as {} (body-parser special case)', async () => {
    const r = await fetch(`${srv.url}/echo`, { method: 'POST' });
    expect(await json(r)).toEqual({ body: {} });
  });
});

describe('requireScope', () => {
  const cases: [string, Record<string, string>, string, number, string?][] = [
    ['Bearer write key', { authorization: 'Bearer wk' }, '{}', 200, 'k1'],
    ['bearer is case-insensitive', { authorization: 'bearer   wk ' }, '{}', 200, 'k1'],
    ['Bearer admin key satisfies write', { authorization: 'Bearer ak' }, '{}', 200, 'k3'],
    ['Basic username (Segment SDKs)', { authorization: basic('wk') }, '{}', 200, 'k1'],
    ['writeKey in the body', {}, '{"writeKey":"wk"}', 200, 'k1'],
    ['header wins over body', { authorization: 'Bearer nope' }, '{"writeKey":"wk"}', 401],
    ['missing key', {}, '{}', 401],
    ['unknown key', { authorization: 'Bearer nope' }, '{}', 401],
    ['empty bearer', { authorization: 'Bearer ' }, '{}', 401],
    ['malformed scheme', { authorization: 'Token wk' }, '{}', 401],
    ['Basic with empty username', { authorization: basic('', 'wk') }, '{}', 401],
    ['read key on a write endpoint', { authorization: 'Bearer rk' }, '{}', 403],
    ['verifier down → 503', { authorization: 'Bearer boom' }, '{}', 503],
  ];
  it.each(cases)('%s → %i', async (_n, headers, body, status, id) => {
    const r = await post('/write', body, { 'content-type': 'application/json', ...headers });
    expect(r.status).toBe(status);
    const answer = await json(r);
    if (status === 200) expect(answer.principal.id).toBe(id);
    else expect(answer.error.code).toBe({ 401: 'unauthorized', 403: 'forbidden', 503: 'unavailable' }[status]);
    if (status === 401) expect(r.headers.get('www-authenticate')).toMatch(/Bearer realm="tinycdp", Basic/);
  });

  it('Basic and body keys are refused where not allowed', async () => {
    expect((await fetch(`${srv.url}/read`, { headers: { authorization: basic('rk') } })).status).toBe(401);
    expect((await fetch(`${srv.url}/read`, { headers: { authorization: 'Bearer rk' } })).status).toBe(200);
    expect((await fetch(`${srv.url}/read`, { headers: { authorization: 'Bearer ak' } })).status).toBe(200);
    const r = await fetch(`${srv.url}/read`, { headers: { authorization: 'Bearer wk' } });
    expect(r.status).toBe(403);
    expect((await json(r)).error.message).toBe('this endpoint needs a key with scope "read"; this key has scope "write"');
  });
});

describe('health and metrics', () => {
  it('200 ok with per-check latency', async () => {
    healthy = true;
    const r = await fetch(`${srv.url}/ingest/health`);
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body).toMatchObject({ status: 'ok', service: 'ingest', checks: { kafka: { status: 'ok' }, slow: { status: 'ok' } } });
    expect(typeof body.checks.kafka.latencyMs).toBe('number');
  });

  it('503 degraded naming the failing checks (timeouts included)', async () => {
    healthy = false;
    const r = await fetch(`${srv.url}/ingest/health`);
    expect(r.status).toBe(503);
    expect(await json(r)).toMatchObject({
      status: 'degraded',
      checks: { kafka: { status: 'error', error: 'broker down' }, slow: { status: 'error', error: 'timed out after 100 ms' } },
    });
    healthy = true;
  });

  it('serves Prometheus text', async () => {
    const r = await fetch(`${srv.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await r.text()).toMatch(/^test_total 3$/m);
  });
});
