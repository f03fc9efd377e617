import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Analytics } from '@segment/analytics-node';
import { systemClock } from '@tinycdp/common';
import { startServer, staticKeyVerifier, type RunningServer } from '@tinycdp/http';
import { createIngestApp } from './app';
import { MemorySink } from './adapters/memory-sink';

// Proves Segment's own Node SDK works against ingest unchanged: it posts /v1/batch with Basic auth
// (writeKey as username), `writeKey` in the body, a batch-level sentAt, and items carrying type,
// messageId, timestamp, context.library, integrations and _metadata.
describe('@segment/analytics-node against ingest', () => {
  const sink = new MemorySink();
  let srv: RunningServer;

  beforeAll(async () => {
    const app = createIngestApp({
      sink,
      keys: staticKeyVerifier([{ secret: 'seg-write-key', id: 'k1', scope: 'write' }]),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
    });
    srv = await startServer(app);
  });
  afterAll(() => srv.close());

  it('track, identify, page, alias, group, screen arrive normalized', async () => {
    const analytics = new Analytics({ writeKey: 'seg-write-key', host: srv.url, path: '/v1/batch', flushAt: 1, maxRetries: 0 });
    const failures: unknown[] = [];
    analytics.on('error', (e) => failures.push(e));

    analytics.identify({ userId: 'user-1', traits: { plan: 'premium', email: 'a@b.c' } });
    analytics.track({ userId: 'user-1', event: 'Order Completed', properties: { amount: 99.99 } });
    analytics.page({ anonymousId: 'anon-1', name: 'Pricing', properties: { path: '/pricing' } });
    analytics.alias({ userId: 'user-1', previousId: 'anon-1' });
    analytics.group({ userId: 'user-1', groupId: 'acme', traits: { employees: 12 } });
    analytics.screen({ userId: 'user-1', name: 'Home' });
    await analytics.closeAndFlush({ timeout: 10_000 });

    expect(failures).toEqual([]);
    const byType = Object.fromEntries(sink.records.map((r) => [r.value.type, r]));
    expect(Object.keys(byType).sort()).toEqual(['alias', 'group', 'identify', 'page', 'screen', 'track']);
    expect(byType['track']).toMatchObject({
      key: 'user-1',
      value: { event: 'Order Completed', properties: { amount: 99.99 }, userId: 'user-1', anonymousId: null },
    });
    expect(byType['identify']?.value.traits).toEqual({ plan: 'premium', email: 'a@b.c' });
    expect(byType['page']).toMatchObject({ key: 'anon-1', value: { name: 'Pricing', properties: { path: '/pricing' } } });
    expect(byType['alias']?.value).toMatchObject({ userId: 'user-1', previousId: 'anon-1' });
    expect(byType['group']?.value).toMatchObject({ groupId: 'acme', traits: { employees: 12 } });
    expect(byType['screen']?.value.name).toBe('Home');
    for (const r of sink.records) {
      expect(r.value.messageId).toMatch(/^node-next-/); // the SDK's own messageId is kept
      expect(r.value.context).toMatchObject({ library: { name: '@segment/analytics-node' } });
      expect(Date.parse(r.value.timestamp)).toBeLessThanOrEqual(Date.parse(r.value.receivedAt) + 5 * 60_000);
      expect(r.value.sentAt).not.toBeNull(); // the batch envelope's sentAt
      expect(r.value).not.toHaveProperty('integrations');
    }
  });

  it('a wrong writeKey is rejected with 401 (the SDK drops, does not retry)', async () => {
    const analytics = new Analytics({ writeKey: 'wrong', host: srv.url, path: '/v1/batch', flushAt: 1, maxRetries: 0 });
    const before = sink.records.length;
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ userId: 'user-2', event: 'x' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(sink.records.length).toBe(before);
    expect(errors.length).toBe(1);
  });
});
