/**
 * Issue 7 / 1(d): a PRIVATE Postgres (never the shared one) goes down while ingest, decide and admin
 * run on it. Ingest and decide keep accepting keys they already verified (PgKeyVerifier stale-if-error);
 * keys never seen answer 503 (never 401: the key may be valid); admin answers 503 + Retry-After on
 * reads and writes (never a 500 or a hang); after Postgres is back admin works again by itself and
 * nothing was corrupted (writes refused during the outage did not half-happen).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsolatedSchema, getServices, isolatedRedisPrefix, isolatedTopicPrefix, startPrivatePostgres, waitFor, type PrivatePostgres } from '@tinycdp/testkit';
import { startEdgeStack, type EdgeStack } from './internal/edge-stack';

let pg: PrivatePostgres;
let stack: EdgeStack;

async function call(url: string, key: string, init: { method?: string; body?: unknown } = {}) {
  const started = performance.now();
  const r = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await r.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // metrics
  }
  return { status: r.status, body, retryAfter: r.headers.get('retry-after'), ms: performance.now() - started };
}

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const services = getServices();
  stack = await startEdgeStack({
    kafkaBrokers: services.kafkaBrokers,
    redisUrl: services.redisUrl,
    databaseUrl: pg.url,
    schema: await createIsolatedSchema(pg.url),
    topicPrefix: isolatedTopicPrefix(),
    redisPrefix: isolatedRedisPrefix(),
  });
}, 120_000);

afterAll(async () => {
  await pg?.start().catch(() => undefined); // so the stack can drop its schema
  await stack?.close();
  await pg?.destroy();
}, 120_000);

describe('Postgres down', () => {
  it('ingest and decide keep serving verified keys, admin answers 503, everything recovers intact', async () => {
    const { secrets } = stack;
    const track = (id: string) => ({ userId: 'pgd-u', event: 'purchase', messageId: id });
    const ingest = (key: string, id: string) => call(`${stack.ingest.url}/v1/track`, key, { method: 'POST', body: track(id) });
    const decide = (key: string) => call(`${stack.decide.url}/v1/decide?userId=pgd-u&flag=beta`, key);
    const traits = () => call(`${stack.admin.url}/v1/admin/traits`, secrets.admin);

    // Warm: each key verified once while Postgres is up.
    expect((await ingest(secrets.write, 'pgd-0')).status).toBe(200);
    expect((await decide(secrets.read)).status).toBe(200);
    expect((await traits()).status).toBe(200);
    expect((await call(`${stack.admin.url}/v1/admin/traits`, secrets.admin, { method: 'POST', body: { key: 'pgd_t', expression: 'events.purchase.count_7d' } })).status).toBe(201);

    await pg.stop();

    for (let i = 1; i <= 5; i++) {
      const r = await ingest(secrets.write, `pgd-${i}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const d = await decide(secrets.read);
      expect(d.status, JSON.stringify(d.body)).toBe(200);
      expect(d.body).toMatchObject({ flag: 'beta' });
    }
    // A key never verified before cannot be judged: 503 + Retry-After, not 401.
    const unknown = await ingest(secrets.admin.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), 'pgd-x');
    expect(unknown.status).toBe(503);
    expect(unknown.retryAfter).toBe('1');
    expect((await decide(secrets.revokedRead)).status).toBe(503);

    // Admin: reads and writes are 503 with Retry-After, fast; health says why.
    const read = await traits();
    expect(read.status, JSON.stringify(read.body)).toBe(503);
    expect(read.body.error.code).toBe('unavailable');
    expect(read.retryAfter).toBe('1');
    expect(read.ms).toBeLessThan(6_000);
    const write = await call(`${stack.admin.url}/v1/admin/traits`, secrets.admin, { method: 'POST', body: { key: 'pgd_lost', expression: 'true' } });
    expect(write.status, JSON.stringify(write.body)).toBe(503);
    const key = await call(`${stack.admin.url}/v1/admin/keys`, secrets.admin, { method: 'POST', body: { scope: 'read', name: 'during outage' } });
    expect(key.status).toBe(503);
    const health = await fetch(`${stack.admin.url}/admin/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as any).checks.postgres.status).toBe('error');
    // Nothing answered 500 during the outage.
    expect(stack.logs.filter((l) => l.includes('"code":"internal"'))).toEqual([]);

    await pg.start();

    await waitFor(async () => (await traits()).status === 200, { timeoutMs: 20_000, message: 'admin serves again' });
    const after = await traits();
    expect(after.body.items.map((t: any) => t.key)).toEqual(['pgd_t']);
    expect((await call(`${stack.admin.url}/v1/admin/traits/pgd_lost`, secrets.admin)).status).toBe(404);
    const keys = await call(`${stack.admin.url}/v1/admin/keys`, secrets.admin);
    expect(JSON.stringify(keys.body)).not.toContain('during outage');
    expect((await call(`${stack.admin.url}/v1/admin/traits`, secrets.admin, { method: 'POST', body: { key: 'pgd_after', expression: 'true' } })).status).toBe(201);
    expect((await fetch(`${stack.admin.url}/admin/health`)).status).toBe(200);
    // Unknown keys are judged again (401), verified ones still work.
    expect((await decide('tcdp_' + 'Q'.repeat(43))).status).toBe(401);
    expect((await ingest(secrets.write, 'pgd-after')).status).toBe(200);
  }, 120_000);
});
