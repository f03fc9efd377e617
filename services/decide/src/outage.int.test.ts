/**
 * Redis trouble: decide answers defaults (reason ERROR) within its budget, reports 503 on health,
 * never hangs or crashes, and recovers by itself. Uses a private redis-server this file starts and
 * stops (the shared one must not be disturbed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, isolatedRedisPrefix, waitFor } from '@tinycdp/testkit';
import { decideRedisOptions, type DecideApp } from './app';
import { MemoryKeyVerifier, putDefinitions, seedDefinitions, testDecideApp, writeSeedProfiles } from './test-fixtures';

const KEY = 'outage-key';
const servers: ChildProcess[] = [];
const clients: Redis[] = [];
let app: DecideApp | null = null;

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  servers.push(child);
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await waitFor(
      async () => {
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
        return (await probe.ping()) === 'PONG';
      },
      { timeoutMs: 5_000, message: `redis-server on ${port}` },
    );
  } finally {
    probe.disconnect();
  }
  return child;
}

function stopRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function client(port: number, opts = {}): Redis {
  const r = new Redis({ port, host: '127.0.0.1', ...opts });
  r.on('error', () => undefined);
  clients.push(r);
  return r;
}

async function seed(port: number, prefix: string): Promise<void> {
  const w = client(port);
  await putDefinitions(w, prefix, seedDefinitions());
  await writeSeedProfiles(w, prefix, Date.now());
  w.disconnect();
}

async function timed(url: string, init: RequestInit = {}) {
  const started = performance.now();
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...init.headers } });
  const body = (await res.json()) as any;
  return { status: res.status, body, ms: performance.now() - started };
}

function build(port: number, prefix: string): DecideApp {
  return testDecideApp({
    redis: client(port, decideRedisOptions(50)),
    keys: new MemoryKeyVerifier().add(KEY, 'read'),
    prefix,
    redisTimeoutMs: 50,
    flagCache: { retryMs: 200, loadTimeoutMs: 300 },
  });
}

afterEach(async () => {
  await app?.close();
  app = null;
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map(stopRedis));
});

describe('Redis outage', () => {
  it('stalled Redis (CLIENT PAUSE): defaults with reason ERROR under 200 ms, health 503, then recovery', async () => {
    const port = await freePort();
    await startRedis(port);
    const prefix = isolatedRedisPrefix();
    await seed(port, prefix);
    app = build(port, prefix);
    const { url } = await app.listen();
    const decide = `${url}/v1/decide?userId=vip&flag=premium_features`;
    // Healthy first (waitFor: on a saturated box a single 50 ms read can time out, which is the point).
    await waitFor(async () => (await timed(decide)).body.reason === 'TARGETING_MATCH', { message: 'healthy before the pause' });

    await client(port).client('PAUSE', 1_500, 'ALL');
    const r = await timed(decide);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ flag: 'premium_features', value: false, enabled: false, reason: 'ERROR' });
    expect(r.ms).toBeLessThan(200);
    const obj = await timed(`${url}/v1/decide?userId=vip&flag=checkout_config`);
    expect(obj.body).toMatchObject({ value: { steps: 3, express: false }, reason: 'ERROR' });
    const health = await timed(`${url}/decide/health`);
    expect(health.status).toBe(503);
    expect(health.body.checks.redis.status).toBe('error');

    await waitFor(async () => (await timed(decide)).body.reason === 'TARGETING_MATCH', { timeoutMs: 5_000, message: 'recovery after pause' });
    expect((await timed(`${url}/decide/health`)).status).toBe(200);
  });

  it('Redis gone: fast defaults on every route, health 503; recovers when it is back', async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const prefix = isolatedRedisPrefix();
    await seed(port, prefix);
    app = build(port, prefix);
    const { url } = await app.listen();
    const decide = `${url}/v1/decide?userId=vip&flag=premium_features`;
    await waitFor(async () => (await timed(decide)).body.reason === 'TARGETING_MATCH', { message: 'healthy before the stop' });

    await stopRedis(server);
    for (let i = 0; i < 5; i++) {
      const r = await timed(decide);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ value: false, reason: 'ERROR' });
      expect(r.ms).toBeLessThan(200);
    }
    const all = await timed(`${url}/v1/decide?userId=vip`);
    expect(Object.values(all.body.flags).every((d: any) => d.reason === 'ERROR')).toBe(true);
    const post = await timed(`${url}/v1/decide`, { method: 'POST', body: JSON.stringify({ userIds: ['vip', 'buyer'], flags: ['discount_pct'] }) });
    expect(post.body.results.map((x: any) => [x.userId, x.flags.discount_pct.value, x.flags.discount_pct.reason])).toEqual([
      ['vip', 0, 'ERROR'],
      ['buyer', 0, 'ERROR'],
    ]);
    const of = await timed(`${url}/ofrep/v1/evaluate/flags/banner_color`, {
      method: 'POST',
      body: JSON.stringify({ context: { targetingKey: 'vip' } }),
    });
    expect(of).toMatchObject({ status: 200, body: { key: 'banner_color', value: 'gray', reason: 'ERROR' } });
    expect(of.ms).toBeLessThan(200);
    const health = await timed(`${url}/decide/health`);
    expect(health.status).toBe(503);
    expect(health.ms).toBeLessThan(1_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/tinycdp_decide_errors_total\{kind="redis"\} [1-9]/);

    // Back (empty: --save ''), re-seeded like the processor would: decide recovers on its own.
    await startRedis(port);
    await seed(port, prefix);
    await waitFor(async () => (await timed(decide)).body.reason === 'TARGETING_MATCH', { timeoutMs: 5_000, message: 'recovery after restart' });
    await waitFor(async () => (await timed(`${url}/decide/health`)).status === 200, { timeoutMs: 2_000 });
  });

  it('starts without Redis (closed port): never hangs, 503 until definitions load, then serves', async () => {
    const port = await freePort();
    const prefix = isolatedRedisPrefix();
    app = build(port, prefix);
    const started = performance.now();
    const { url } = await app.listen();
    expect(performance.now() - started).toBeLessThan(1_500);
    const decide = `${url}/v1/decide?userId=vip&flag=premium_features`;
    const r = await timed(decide);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('unavailable');
    expect(r.ms).toBeLessThan(200);
    expect((await timed(`${url}/decide/health`)).status).toBe(503);

    await startRedis(port);
    await seed(port, prefix);
    await waitFor(async () => (await timed(decide)).body.reason === 'TARGETING_MATCH', { timeoutMs: 5_000, message: 'first load after Redis came up' });
  });
});
