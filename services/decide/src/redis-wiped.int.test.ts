/**
 * Issue 7 / 1(c), decide side: a PRIVATE Redis restarted EMPTY under decide. Decide must stay fast and
 * never fail requests; and, since it cannot tell "this user has no state" from "the state was lost",
 * it should answer defaults with reason ERROR until the state is back (the processor pauses and reports
 * `redis_state_lost_rebuild_required` meanwhile; see services/processor/src/safety/redis-epoch.ts).
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@tinycdp/redis';
import { isolatedRedisPrefix, startPrivateRedis, waitFor, type PrivateRedis } from '@tinycdp/testkit';
import { decideRedisOptions, type DecideApp } from './app';
import { MemoryKeyVerifier, putDefinitions, seedDefinitions, testDecideApp, writeSeedProfiles } from './test-fixtures';

const KEY = 'wiped-key';
let redis: PrivateRedis | null = null;
let app: DecideApp | null = null;
const clients: Redis[] = [];

function client(url: string, opts = {}): Redis {
  const r = new Redis(url, opts);
  r.on('error', () => undefined);
  clients.push(r);
  return r;
}

async function decide(url: string) {
  const t0 = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${KEY}` } });
  return { status: r.status, body: (await r.json()) as any, ms: performance.now() - t0 };
}

afterAll(async () => {
  await app?.close();
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

describe('Redis restarted empty under decide', () => {
  let url = '';
  let prefix = '';

  it('stays fast and up: 200 within the budget on every request, health keeps answering', async () => {
    redis = await startPrivateRedis();
    prefix = isolatedRedisPrefix();
    const w = client(redis.url);
    await putDefinitions(w, prefix, seedDefinitions());
    await writeSeedProfiles(w, prefix, Date.now());
    await w.set(redisKeys(prefix).epoch(), 'epoch-1'); // what a processor sets on a fresh state
    app = testDecideApp({
      redis: client(redis.url, decideRedisOptions(50)),
      keys: new MemoryKeyVerifier().add(KEY, 'read'),
      prefix,
      redisTimeoutMs: 50,
      flagCache: { retryMs: 200, loadTimeoutMs: 300 },
    });
    const served = await app.listen();
    url = `${served.url}/v1/decide?userId=vip&flag=premium_features`;
    expect((await decide(url)).body).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });

    await redis.restartEmpty();
    await waitFor(async () => (await fetch(`${served.url}/decide/health`)).status !== 0, { timeoutMs: 5_000 });
    for (let i = 0; i < 10; i++) {
      const r = await decide(url);
      expect([200, 404, 503]).toContain(r.status);
      expect(r.ms).toBeLessThan(250);
      // Never a stale TARGETING_MATCH from a cache that outlived the data for long.
      if (i === 9) expect(r.body.reason === 'TARGETING_MATCH' && r.status === 200).toBe(false);
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  it('tells lost state from a new user: answers the default with reason ERROR, not a confident DEFAULT', async () => {
    const r = await decide(url);
    console.log(`[redis-wiped] decide after the wipe: ${r.status} ${JSON.stringify(r.body)}`);
    expect(r.status).toBe(200);
    expect(r.body.reason).toBe('ERROR');
  });

  it('keeps answering ERROR when a restarted processor writes the definitions again (the epoch marker is still gone), and recovers after a rebuild', async () => {
    const w = client(redis!.url);
    await putDefinitions(w, prefix, seedDefinitions()); // writes the hash and publishes a notice
    await new Promise((res) => setTimeout(res, 400));
    const during = await decide(url);
    expect(during.status).toBe(200);
    expect(during.body.reason).toBe('ERROR');

    // A rebuild restores the profiles and writes a new marker.
    await writeSeedProfiles(w, prefix, Date.now());
    await w.set(redisKeys(prefix).epoch(), 'epoch-2');
    await putDefinitions(w, prefix, seedDefinitions());
    await waitFor(async () => (await decide(url)).body.reason === 'TARGETING_MATCH', { timeoutMs: 5_000 });
    expect((await decide(url)).body).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
  });
});
