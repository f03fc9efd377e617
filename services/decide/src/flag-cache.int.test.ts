import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '@tinycdp/common';
import { redisKeys } from '@tinycdp/redis';
import { getServices, isolatedRedisPrefix, waitFor } from '@tinycdp/testkit';
import { FlagCache } from './flag-cache';
import { decideMetrics } from './metrics';
import { flag, putDefinitions } from './test-fixtures';

let writer: Redis;
let reader: Redis;
const caches: FlagCache[] = [];

beforeAll(() => {
  const { redisUrl } = getServices();
  writer = new Redis(redisUrl);
  reader = new Redis(redisUrl);
});

afterAll(async () => {
  for (const c of caches) await c.close();
  writer?.disconnect();
  reader?.disconnect();
});

async function cache(prefix: string, fullReloadMs = 30_000) {
  const registry = new Registry();
  const metrics = decideMetrics(registry);
  const c = new FlagCache({
    redis: reader,
    keys: redisKeys(prefix),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    metrics,
    fullReloadMs,
  });
  caches.push(c);
  await c.start();
  const changed = async () => (await metrics.reloads.get()).values.find((v) => v.labels.outcome === 'changed')?.value ?? 0;
  return { c, changed };
}

describe('FlagCache', () => {
  it('loads at start; a burst of notices costs few rebuilds; the ETag follows versions', async () => {
    const prefix = isolatedRedisPrefix();
    await putDefinitions(writer, prefix, [flag('a'), flag('b', { rules: [{ when: 'context.x == 1', value: true }] })]);
    const { c, changed } = await cache(prefix);
    expect(c.snapshot?.flagKeys).toEqual(['a', 'b']);
    expect(c.snapshot?.plan.flagsByKey.has('b')).toBe(true);
    const etag = c.etag;
    expect(await changed()).toBe(1);

    // Give the subscription a moment to be established before publishing (pub/sub has no history).
    await waitFor(async () => (await writer.pubsub('NUMSUB', redisKeys(prefix).definitionsChannel()))[1] === 1, {
      message: 'subscriber',
    });
    await putDefinitions(
      writer,
      prefix,
      Array.from({ length: 20 }, (_, i) => flag(`burst_${i}`)),
    );
    await waitFor(() => c.snapshot?.flagKeys.length === 22, { timeoutMs: 1_000, message: 'burst loaded' });
    // 20 notices, debounced: far fewer rebuilds (exact count depends on timing).
    expect(await changed()).toBeLessThanOrEqual(6);
    expect(c.etag).not.toBe(etag);
  });

  it('the periodic reload picks up a change whose notice was lost', async () => {
    const prefix = isolatedRedisPrefix();
    await putDefinitions(writer, prefix, [flag('a')]);
    const { c } = await cache(prefix, 300);
    expect(c.snapshot?.flagKeys).toEqual(['a']);
    // Written without PUBLISH.
    await writer.hset(redisKeys(prefix).definitions(), 'flag:silent', JSON.stringify(flag('silent', { version: 1 })));
    await waitFor(() => c.snapshot?.flags.has('silent'), { timeoutMs: 2_000, message: 'periodic reload' });
  });

  it('flags whose rules do not compile stay known (they answer default/ERROR), with the problem', async () => {
    const prefix = isolatedRedisPrefix();
    await putDefinitions(writer, prefix, [flag('broken', { default: true, rules: [{ when: 'segment("nope")', value: false }] })]);
    const { c } = await cache(prefix);
    expect(c.snapshot?.flags.has('broken')).toBe(true);
    expect(c.snapshot?.plan.flagsByKey.has('broken')).toBe(false);
    expect(c.snapshot?.problems.map((p) => p.key)).toEqual(['broken']);
  });
});
