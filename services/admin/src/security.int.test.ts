/**
 * Issue 7 / 4: security at the three HTTP edges, built in-process against real Kafka, Redis and Postgres.
 * - The auth matrix for EVERY endpoint of ingest, decide (incl. OFREP) and admin, as one table:
 *   no key, malformed header, unknown key, revoked key, wrong scope → 401/403 with the standard error
 *   body; the right scope → the endpoint's success status. No answer ever echoes the presented secret.
 * - Keys are never logged: every pino line the three apps wrote (level trace) is free of every secret.
 * - Request limits: body size → 413 on every edge; slowloris (headers trickled byte by byte) → the
 *   server closes the socket within its headersTimeout; per-key rate limits → 429 + Retry-After.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVER_TIMEOUTS } from '@tinycdp/http';
import * as testkit from '@tinycdp/testkit';
import { ADMIN_RATE_LIMIT } from './app';
import { startIsolatedEdgeStack, type EdgeStack } from './internal/edge-stack';

type Cred = 'none' | 'malformed' | 'emptyBearer' | 'unknown' | 'revoked' | 'wrongScope' | 'right';
type Service = 'ingest' | 'decide' | 'admin';

interface Endpoint {
  readonly service: Service;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly body?: unknown;
  /** Success status with the right key. */
  readonly ok: number;
}

/** Listing, creating, reading and the history of one kind of definition (scope admin). */
const definitionRows = (kind: 'traits' | 'segments' | 'flags', key: string, create: object): Endpoint[] => [
  { service: 'admin', method: 'GET', path: `/v1/admin/${kind}`, ok: 200 },
  { service: 'admin', method: 'POST', path: `/v1/admin/${kind}`, body: { key, ...create }, ok: 201 },
  { service: 'admin', method: 'GET', path: `/v1/admin/${kind}/${key}`, ok: 200 },
  { service: 'admin', method: 'GET', path: `/v1/admin/${kind}/${key}/history`, ok: 200 },
];

const track = { userId: 'sec-u1', event: 'purchase', properties: { amount: 5 } };
const ENDPOINTS: Endpoint[] = [
  // ingest (scope write)
  { service: 'ingest', method: 'POST', path: '/v1/track', body: track, ok: 200 },
  { service: 'ingest', method: 'POST', path: '/v1/identify', body: { userId: 'sec-u1', traits: { plan: 'pro' } }, ok: 200 },
  { service: 'ingest', method: 'POST', path: '/v1/alias', body: { userId: 'sec-u1', previousId: 'sec-a1' }, ok: 200 },
  { service: 'ingest', method: 'POST', path: '/v1/page', body: { userId: 'sec-u1', name: 'Home' }, ok: 200 },
  { service: 'ingest', method: 'POST', path: '/v1/screen', body: { userId: 'sec-u1', name: 'Main' }, ok: 200 },
  { service: 'ingest', method: 'POST', path: '/v1/group', body: { userId: 'sec-u1', groupId: 'g1' }, ok: 200 },
  { service: 'ingest', method: 'POST', path: '/v1/batch', body: { batch: [{ type: 'track', ...track }] }, ok: 200 },
  // decide (scope read)
  { service: 'decide', method: 'GET', path: '/v1/decide?userId=sec-u1&flag=beta', ok: 200 },
  { service: 'decide', method: 'GET', path: '/v1/decide?userId=sec-u1', ok: 200 },
  { service: 'decide', method: 'POST', path: '/v1/decide', body: { userIds: ['sec-u1'], flags: ['beta'] }, ok: 200 },
  { service: 'decide', method: 'POST', path: '/ofrep/v1/evaluate/flags/color', body: { context: { targetingKey: 'sec-u1' } }, ok: 200 },
  { service: 'decide', method: 'POST', path: '/ofrep/v1/evaluate/flags', body: { context: { targetingKey: 'sec-u1' } }, ok: 200 },
  // admin (scope admin); later rows use what earlier ones created
  ...definitionRows('traits', 'sec_t', { expression: 'events.a.count_7d >= 1' }),
  { service: 'admin', method: 'PUT', path: '/v1/admin/traits/sec_t', body: { expression: 'events.a.count_7d >= 2' }, ok: 200 },
  ...definitionRows('segments', 'sec_s', { rule: 'sec_t == true' }),
  { service: 'admin', method: 'GET', path: '/v1/admin/segments/sec_s/members', ok: 503 }, // no membership index wired
  { service: 'admin', method: 'GET', path: '/v1/admin/segments/sec_s/count', ok: 503 },
  { service: 'admin', method: 'PUT', path: '/v1/admin/segments/sec_s', body: { rule: 'sec_t' }, ok: 200 },
  ...definitionRows('flags', 'sec_f', { rule: 'segment("sec_s")' }),
  { service: 'admin', method: 'PUT', path: '/v1/admin/flags/sec_f', body: { rule: 'true' }, ok: 200 },
  { service: 'admin', method: 'DELETE', path: '/v1/admin/flags/sec_f', ok: 200 },
  { service: 'admin', method: 'DELETE', path: '/v1/admin/segments/sec_s', ok: 200 },
  { service: 'admin', method: 'DELETE', path: '/v1/admin/traits/sec_t', ok: 200 },
  { service: 'admin', method: 'POST', path: '/v1/admin/expressions/validate', body: { kind: 'trait', expression: 'true' }, ok: 200 },
  { service: 'admin', method: 'POST', path: '/v1/admin/expressions/test', body: { kind: 'trait', expression: 'true', profile: {} }, ok: 200 },
  { service: 'admin', method: 'GET', path: '/v1/admin/profiles/sec-u1', ok: 503 }, // no profile reader wired
  { service: 'admin', method: 'GET', path: '/v1/admin/keys', ok: 200 },
  { service: 'admin', method: 'POST', path: '/v1/admin/keys', body: { scope: 'read', name: 'sec-created' }, ok: 201 },
  { service: 'admin', method: 'DELETE', path: '/v1/admin/keys/:created', ok: 200 },
];

const EXPECTED: Record<Exclude<Cred, 'right'>, 401 | 403> = {
  none: 401,
  malformed: 401,
  emptyBearer: 401,
  unknown: 401,
  revoked: 401,
  wrongScope: 403,
};

let stack: EdgeStack;
let createdKeyId = '';
const presented = new Set<string>();

function base(service: Service): string {
  if (service === 'ingest') return stack.ingest.url;
  if (service === 'decide') return stack.decide.url;
  return stack.admin.url;
}

function secretFor(service: Service, cred: 'unknown' | 'revoked' | 'wrongScope' | 'right'): string {
  const s = stack.secrets;
  switch (cred) {
    case 'unknown':
      return 'tcdp_' + 'Z'.repeat(43);
    case 'revoked':
      return service === 'ingest' ? s.revokedWrite : service === 'decide' ? s.revokedRead : s.revokedAdmin;
    case 'wrongScope':
      // write key on decide / admin, read key on ingest: each a valid key of another scope
      return service === 'ingest' ? s.read : s.write;
    case 'right':
      return service === 'ingest' ? s.write : service === 'decide' ? s.read : s.admin;
  }
}

async function call(e: Endpoint, cred: Cred, opts: { via?: 'bearer' | 'basic' | 'writeKey' } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let body = e.body;
  if (cred === 'malformed') headers.authorization = 'Token abc';
  else if (cred === 'emptyBearer') headers.authorization = 'Bearer ';
  else if (cred !== 'none') {
    const secret = secretFor(e.service, cred);
    presented.add(secret);
    const via = opts.via ?? 'bearer';
    if (via === 'bearer') headers.authorization = `Bearer ${secret}`;
    else if (via === 'basic') headers.authorization = `Basic ${Buffer.from(`${secret}:`).toString('base64')}`;
    else body = { ...(e.body as object), writeKey: secret };
  }
  const path = e.path.replace(':created', createdKeyId || 'key_none');
  const res = await fetch(base(e.service) + path, {
    method: e.method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, text, body: json };
}

beforeAll(async () => {
  stack = await startIsolatedEdgeStack(testkit, {
    timeouts: { headersTimeoutMs: 1_500, requestTimeoutMs: 5_000, checkIntervalMs: 250 },
  });
  for (const s of Object.values(stack.secrets)) presented.add(s);
});

afterAll(async () => {
  await stack?.close();
});

describe('auth matrix: every endpoint of ingest, decide (incl. OFREP) and admin', () => {
  for (const e of ENDPOINTS) {
    it(`${e.service} ${e.method} ${e.path}`, async () => {
      for (const cred of Object.keys(EXPECTED) as (keyof typeof EXPECTED)[]) {
        const r = await call(e, cred);
        expect(r.status, `${cred}: ${r.text}`).toBe(EXPECTED[cred]);
        expect(r.body.error?.code, `${cred}: ${r.text}`).toBe(EXPECTED[cred] === 401 ? 'unauthorized' : 'forbidden');
        expect(typeof r.body.error.message).toBe('string');
        if (EXPECTED[cred] === 401) expect(r.headers.get('www-authenticate')).toContain('Bearer');
        for (const s of presented) expect(r.text).not.toContain(s);
      }
      const ok = await call(e, 'right');
      expect(ok.status, ok.text).toBe(e.ok);
      if (e.method === 'POST' && e.path === '/v1/admin/keys') createdKeyId = ok.body.id;
      // The admin key satisfies every scope.
      if (e.service !== 'admin' && e.method !== 'GET') {
        const res = await fetch(base(e.service) + e.path, {
          method: e.method,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.secrets.admin}` },
          body: JSON.stringify(e.body),
        });
        expect(res.status).toBe(e.ok);
      }
    });
  }

  it('ingest takes the key as Basic username or body writeKey too — with the same matrix', async () => {
    const e = ENDPOINTS[0]!;
    for (const via of ['basic', 'writeKey'] as const) {
      expect((await call(e, 'unknown', { via })).status).toBe(401);
      expect((await call(e, 'revoked', { via })).status).toBe(401);
      expect((await call(e, 'wrongScope', { via })).status).toBe(403);
      expect((await call(e, 'right', { via })).status).toBe(200);
    }
    // Basic on decide/admin is not accepted at all.
    const basic = `Basic ${Buffer.from(`${stack.secrets.read}:`).toString('base64')}`;
    expect((await fetch(`${stack.decide.url}/v1/decide?userId=x`, { headers: { authorization: basic } })).status).toBe(401);
    expect((await fetch(`${stack.admin.url}/v1/admin/traits`, { headers: { authorization: `Basic ${Buffer.from(`${stack.secrets.admin}:`).toString('base64')}` } })).status).toBe(401);
  });

  it('health and metrics need no key on every service', async () => {
    for (const [svc, paths] of [
      ['ingest', ['/health', '/ingest/health', '/metrics']],
      ['decide', ['/health', '/decide/health', '/metrics']],
      ['admin', ['/health', '/admin/health', '/metrics']],
    ] as const) {
      for (const p of paths) expect((await fetch(base(svc) + p)).status, `${svc} ${p}`).toBe(200);
    }
  });

  it('no secret appears in any log line written during the matrix', () => {
    expect(stack.logs.length).toBeGreaterThan(0);
    const all = stack.logs.join('\n');
    for (const s of presented) expect(all).not.toContain(s);
    // Nor the Authorization header values as a whole.
    expect(all).not.toMatch(/Bearer tcdp_/);
  });
});

describe('request limits', () => {
  const big = (bytes: number) => JSON.stringify({ userId: 'u', event: 'e', properties: { pad: 'x'.repeat(bytes) } });

  it('body size: 413 with the standard error body on every edge', async () => {
    const cases: [string, string, string, string][] = [
      [stack.ingest.url, '/v1/track', stack.secrets.write, big(40 * 1024)],
      [stack.ingest.url, '/v1/batch', stack.secrets.write, JSON.stringify({ batch: [], pad: 'x'.repeat(600 * 1024) })],
      [stack.decide.url, '/v1/decide', stack.secrets.read, JSON.stringify({ userId: 'u', context: { pad: 'x'.repeat(80 * 1024) } })],
      [stack.admin.url, '/v1/admin/expressions/validate', stack.secrets.admin, JSON.stringify({ kind: 'trait', expression: 'x'.repeat(300 * 1024) })],
    ];
    for (const [url, path, key, body] of cases) {
      const r = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      const json = (await r.json()) as any;
      expect(r.status, `${path}: ${JSON.stringify(json)}`).toBe(413);
      expect(json.error.code).toBe('payload_too_large');
      expect(json.error.message).toMatch(/limit/);
    }
    // OFREP answers in its own error shape: a PARSE_ERROR 400 that says why.
    const of = await fetch(`${stack.decide.url}/ofrep/v1/evaluate/flags/color`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.secrets.read}`, 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey: 'u', pad: 'x'.repeat(80 * 1024) } }),
    });
    expect(of.status).toBe(400);
    expect(await of.json()).toMatchObject({ errorCode: 'PARSE_ERROR', errorDetails: expect.stringMatching(/limit/) });
  });

  it('startServer defaults guard against slow clients', () => {
    expect(DEFAULT_SERVER_TIMEOUTS.headersTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(DEFAULT_SERVER_TIMEOUTS.requestTimeoutMs).toBeLessThanOrEqual(60_000);
    expect(DEFAULT_SERVER_TIMEOUTS.checkIntervalMs).toBeLessThanOrEqual(1_000);
    expect(stack.ingest.server.headersTimeout).toBe(1_500);
  });

  /** Opens a socket and trickles a request's headers one byte every `everyMs`; resolves when the server closes it. */
  function slowloris(port: number, everyMs: number, maxMs: number): Promise<{ closedAfterMs: number; sent: number; reply: string }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect({ host: '127.0.0.1', port });
      const head = 'POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ' + 'a'.repeat(10_000);
      let i = 0;
      let reply = '';
      let timer: NodeJS.Timeout | undefined;
      const guard = setTimeout(() => {
        clearInterval(timer);
        socket.destroy();
        reject(new Error(`server kept the slowloris socket open for ${maxMs} ms`));
      }, maxMs);
      socket.on('connect', () => {
        timer = setInterval(() => {
          if (i < head.length && socket.writable) socket.write(head[i++]!);
        }, everyMs);
      });
      socket.on('data', (d) => (reply += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        clearTimeout(guard);
        resolve({ closedAfterMs: Date.now() - started, sent: i, reply });
      });
    });
  }

  it('slowloris: headers sent byte by byte are cut off within headersTimeout (ingest and admin)', async () => {
    const [a, b] = await Promise.all([slowloris(stack.ingest.port, 100, 8_000), slowloris(stack.admin.port, 100, 8_000)]);
    for (const r of [a, b]) {
      // headersTimeout 1.5 s, checked every 250 ms; generous upper bound for a busy machine.
      expect(r.closedAfterMs).toBeGreaterThanOrEqual(1_200);
      expect(r.closedAfterMs).toBeLessThan(5_000);
      expect(r.reply === '' || r.reply.startsWith('HTTP/1.1 408')).toBe(true);
    }
    // The servers are still serving.
    expect((await fetch(`${stack.ingest.url}/health`)).status).toBe(200);
    expect((await fetch(`${stack.admin.url}/health`)).status).toBe(200);
  });
});

describe('per-key rate limits', () => {
  it('ingest and admin answer 429 + Retry-After past the per-key budget; other keys are unaffected', async () => {
    const limited = await startIsolatedEdgeStack(testkit, {
      ingest: { rateLimit: { ratePerSecond: 1, burst: 5 } },
      admin: { rateLimit: { ratePerSecond: 1, burst: 5 } },
    });
    try {
      const hit = (url: string, key: string) =>
        fetch(url, { headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, method: url.includes('/v1/track') ? 'POST' : 'GET', body: url.includes('/v1/track') ? JSON.stringify(track) : undefined });
      for (const [url, key, other] of [
        [`${limited.ingest.url}/v1/track`, limited.secrets.write, limited.secrets.admin],
        [`${limited.admin.url}/v1/admin/traits`, limited.secrets.admin, null],
      ] as const) {
        const statuses: number[] = [];
        let retryAfter: string | null = null;
        let body: any = null;
        for (let i = 0; i < 8; i++) {
          const r = await hit(url, key);
          statuses.push(r.status);
          if (r.status === 429) {
            retryAfter = r.headers.get('retry-after');
            body = await r.json();
          } else await r.arrayBuffer();
        }
        expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
        expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
        expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
        expect(body.error).toMatchObject({ code: 'rate_limited' });
        expect(JSON.stringify(body)).not.toContain(key);
        if (other) expect((await hit(url, other)).status).toBe(200);
      }
    } finally {
      await limited.close();
    }
    // The defaults are generous and on.
    expect(ADMIN_RATE_LIMIT.ratePerSecond).toBe(50);
  });
});
