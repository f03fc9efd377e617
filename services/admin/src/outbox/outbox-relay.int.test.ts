import { createIsolatedSchema, getServices, waitFor } from '@tinycdp/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from '../internal/test-app';
import type { DefinitionPublisher, DefinitionRecord } from './definition-publisher.port';
import { OutboxRelay, RELAY_LOCK_SQL } from './outbox-relay';
import { RecordingPublisher } from './recording-publisher';

const logger = pino({ level: 'silent' });

describe('OutboxRelay (real Postgres)', () => {
  let t: TestAdmin;
  let relay: OutboxRelay | undefined;
  beforeAll(async () => {
    t = await startTestAdmin(getServices().databaseUrl, await createIsolatedSchema(getServices().databaseUrl), { onDefinitionsChanged: () => relay?.notify() });
  });
  afterAll(async () => {
    await relay?.stop();
    await t.close();
  });

  const unpublished = async () =>
    (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n;

  it('publishes committed changes in id order and marks them published', async () => {
    await t.call('POST', '/v1/admin/traits', { key: 'a', expression: 'events.x.count_7d' });
    await t.call('PUT', '/v1/admin/traits/a', { expression: 'events.x.count_7d + 1' });
    await t.call('POST', '/v1/admin/segments', { key: 's', rule: 'a >= 1' });
    await t.call('DELETE', '/v1/admin/segments/s');
    const pub = new RecordingPublisher();
    const r = new OutboxRelay({ db: t.db, publisher: pub, logger, batchSize: 3 });
    expect(await r.drain()).toBe(4);
    expect(pub.records.map((x) => x.key)).toEqual(['trait:a', 'trait:a', 'segment:s', 'segment:s']);
    expect(JSON.parse(pub.records[1]!.value!)).toEqual({ kind: 'trait', key: 'a', expression: 'events.x.count_7d + 1', version: 2 });
    expect(pub.records[3]!.value).toBeNull();
    expect(await unpublished()).toBe(0);
    expect(await r.drain()).toBe(0);
  });

  it('deletes published rows past the retention (idle rounds, bounded), never unpublished or recent ones', async () => {
    await t.call('POST', '/v1/admin/traits', { key: 'old1', expression: 'events.o.count_7d' });
    await t.call('POST', '/v1/admin/traits', { key: 'old2', expression: 'events.o.count_7d' });
    await t.call('POST', '/v1/admin/traits', { key: 'recent', expression: 'events.o.count_7d' });
    const r = new OutboxRelay({ db: t.db, publisher: new RecordingPublisher(), logger, retainPublishedMs: 3_600_000, cleanupEveryMs: 0 });
    expect(await r.drain()).toBe(3);
    // Two of them were published two hours ago; one change is still waiting.
    await t.db.query(`UPDATE outbox SET published_at = now() - interval '2 hours' WHERE topic_key IN ('trait:old1', 'trait:old2')`);
    await t.call('PUT', '/v1/admin/traits/recent', { expression: 'events.o.count_7d + 1' });
    const keys = async () => (await t.db.query<{ k: string }>('SELECT topic_key AS k FROM outbox ORDER BY id')).rows.map((x) => x.k);
    expect(await r.relayOnce()).toBe(1); // publishing round: no clean-up
    expect(await keys()).toContain('trait:old1');
    expect(await r.relayOnce()).toBe(0); // idle round: clean-up
    const left = await keys();
    expect(left).not.toContain('trait:old1');
    expect(left).not.toContain('trait:old2');
    expect(left.filter((k) => k === 'trait:recent')).toHaveLength(2);
    expect(await unpublished()).toBe(0);
  });

  it('keeps rows on a failed publish and retries them (at least once)', async () => {
    await t.call('POST', '/v1/admin/traits', { key: 'b', expression: 'events.y.count_7d' });
    const pub = new RecordingPublisher();
    pub.failNext = 1;
    const r = new OutboxRelay({ db: t.db, publisher: pub, logger });
    await expect(r.relayOnce()).rejects.toThrow('injected');
    expect(await unpublished()).toBe(1);
    expect(await r.drain()).toBe(1);
    expect(pub.records.map((x) => x.key)).toEqual(['trait:b']);
  });

  it('a crash after publishing but before marking republishes: duplicates, never loss', async () => {
    await t.call('PUT', '/v1/admin/traits/b', { expression: 'events.y.count_7d + 2' });
    const seen: DefinitionRecord[] = [];
    let crash = true;
    const flaky: DefinitionPublisher = {
      async publish(records) {
        seen.push(...records);
        if (crash) {
          crash = false;
          throw new Error('process died after the broker acked');
        }
      },
    };
    const r = new OutboxRelay({ db: t.db, publisher: flaky, logger });
    await expect(r.relayOnce()).rejects.toThrow();
    expect(await r.drain()).toBe(1);
    expect(seen.map((x) => x.key)).toEqual(['trait:b', 'trait:b']);
    expect(JSON.parse(seen[1]!.value!).version).toBe(2);
  });

  it('only one relay publishes at a time (advisory lock keeps order across instances)', async () => {
    for (let i = 0; i < 5; i++) await t.call('PUT', '/v1/admin/traits/b', { expression: `events.y.count_7d + ${i}` });
    const pub = new RecordingPublisher();
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const slow: DefinitionPublisher = {
      async publish(records) {
        await gate;
        await pub.publish(records);
      },
    };
    const r1 = new OutboxRelay({ db: t.db, publisher: slow, logger });
    const r2 = new OutboxRelay({ db: t.db, publisher: pub, logger });
    const first = r1.relayOnce();
    const relayLockHeld = async () =>
      (
        await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objid::text::bigint = (${RELAY_LOCK_SQL}::bigint & 4294967295)`,
        )
      ).rows[0]!.n > 0;
    await waitFor(relayLockHeld, { message: 'first relay holding the lock' });
    expect(await r2.relayOnce()).toBe(0);
    release();
    expect(await first).toBe(5);
    expect(pub.records.map((x) => JSON.parse(x.value!).version)).toEqual([3, 4, 5, 6, 7]);
  });

  it('a started relay publishes promptly after a write (notify) and keeps polling', async () => {
    const pub = new RecordingPublisher();
    relay = new OutboxRelay({ db: t.db, publisher: pub, logger, intervalMs: 5_000 });
    relay.start();
    await waitFor(async () => (await unpublished()) === 0);
    await t.call('POST', '/v1/admin/flags', { key: 'f', rule: 'a >= 1' });
    // The poll interval is 5 s: seeing it well before that means notify() woke the relay.
    await waitFor(() => pub.records.some((x) => x.key === 'flag:f'), { timeoutMs: 3_000 });
    expect(pub.compacted().get('flag:f')).toContain('"key":"f"');
    await relay.stop();
    relay = undefined;
  });
});
