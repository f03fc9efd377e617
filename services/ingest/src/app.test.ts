import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { FakeClock } from '@tinycdp/common';
import { startServer, staticKeyVerifier, type RunningServer } from '@tinycdp/http';
import { createIngestApp } from './app';
import { MemorySink } from './adapters/memory-sink';

const NOW = '2024-05-01T12:00:00.000Z';
const clock = new FakeClock(NOW);
const sink = new MemorySink();
const keys = staticKeyVerifier([
  { secret: 'wk', id: 'k-write', scope: 'write' },
  { secret: 'rk', id: 'k-read', scope: 'read' },
  { secret: 'ak', id: 'k-admin', scope: 'admin' },
]);
let n = 0;
let srv: RunningServer;

beforeAll(async () => {
  const app = createIngestApp({
    sink,
    keys,
    clock,
    logger: pino({ level: 'silent' }),
    newId: () => `gen-${++n}`,
    limits: { maxBatchItems: 5 },
  });
  srv = await startServer(app);
});
afterAll(() => srv.close());
beforeEach(() => {
  sink.records.length = 0;
  sink.down = false;
  n = 0;
});

type Json = any;
async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: 'Bearer wk' }) {
  const r = await fetch(srv.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: (await r.json()) as Json };
}
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

describe('single-event routes', () => {
  it('POST /v1/track appends a normalized event and answers {success: true}', async () => {
    const r = await post('/v1/track', { userId: 'u1', event: 'Order Completed', properties: { amount: 10 }, messageId: 'm1', context: { ip: '1.2.3.4' } });
    expect(r).toMatchObject({ status: 200, body: { success: true } });
    expect(sink.records).toEqual([
      {
        key: 'u1',
        value: {
          type: 'track', messageId: 'm1', userId: 'u1', anonymousId: null, event: 'Order Completed', name: null,
          properties: { amount: 10 }, traits: {}, context: { ip: '1.2.3.4' }, previousId: null, groupId: null,
          timestamp: NOW, receivedAt: NOW, sentAt: null, originalTimestamp: null,
        },
      },
    ]);
  });

  it.each([
    ['identify', { anonymousId: 'a1', traits: { plan: 'pro' } }, 'a1', { traits: { plan: 'pro' } }],
    ['alias', { userId: 'u1', previousId: 'a1' }, 'u1', { previousId: 'a1' }],
    ['page', { anonymousId: 'a1', name: 'Pricing', properties: { path: '/pricing' } }, 'a1', { name: 'Pricing' }],
    ['screen', { userId: 'u2', name: 'Home' }, 'u2', { name: 'Home' }],
    ['group', { userId: 'u1', groupId: 'acme', traits: { employees: 10 } }, 'u1', { groupId: 'acme' }],
  ])('POST /v1/%s', async (type, body, key, expected) => {
    const r = await post(`/v1/${type}`, body);
    expect(r).toMatchObject({ status: 200, body: { success: true } });
    expect(sink.records).toHaveLength(1);
    expect(sink.records[0]?.key).toBe(key);
    expect(sink.records[0]?.value).toMatchObject({ type, messageId: 'gen-1', ...expected });
  });

  it('accepts the seed short form on /v1/track and /v1/identify', async () => {
    expect((await post('/v1/track', { externalId: 'user123', event: 'purchase', props: { amount: 99.99 } })).status).toBe(200);
    expect((await post('/v1/identify', { externalId: 'user123', traits: { plan: 'premium' } })).status).toBe(200);
    expect(sink.records.map((r) => [r.key, r.value.type, r.value.event, r.value.properties, r.value.traits])).toEqual([
      ['user123', 'track', 'purchase', { amount: 99.99 }, {}],
      ['user123', 'identify', null, {}, { plan: 'premium' }],
    ]);
  });

  it('does not accept the short form on other routes', async () => {
    const r = await post('/v1/page', { externalId: 'user123' });
    expect(r.status).toBe(400);
  });

  it('applies the timestamp rule with the injected clock', async () => {
    await post('/v1/track', { userId: 'u', event: 'e', sentAt: '2030-01-01T00:00:10Z', originalTimestamp: '2030-01-01T00:00:00Z' });
    await post('/v1/track', { userId: 'u', event: 'e', timestamp: '2024-05-01T13:00:00Z' });
    expect(sink.records.map((r) => r.value.timestamp)).toEqual(['2024-05-01T11:59:50.000Z', NOW]);
  });

  it('400 validation_failed naming each bad field', async () => {
    const r = await post('/v1/track', { userId: 'null', properties: [] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.message).toBe(
      'invalid track message: event: is required for track messages; properties: must be an object; userId: "null" is a placeholder, not an id; send a real id or omit the field',
    );
    expect(r.body.error.details.errors).toHaveLength(3);
    expect(sink.records).toHaveLength(0);
  });

  it('400 for a JSON array body and for a type that contradicts the route', async () => {
    expect((await post('/v1/track', [])).body.error.message).toMatch(/^body: must be a JSON object/);
    expect((await post('/v1/track', { type: 'identify', userId: 'u' })).body.error.message).toMatch(/type: must be "track" on this endpoint/);
  });

  it('400 invalid_json naming the position', async () => {
    const r = await post('/v1/track', '{"userId": "u",');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_json');
    expect(r.body.error.message).toMatch(/position 15/);
  });

  it('413 for a message over 32 KB, naming the limit', async () => {
    const r = await post('/v1/track', { userId: 'u', event: 'e', properties: { s: 'x'.repeat(33 * 1024) } });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'payload_too_large' });
    expect(r.body.error.message).toMatch(/^message is \d+ bytes; the limit is 32768 bytes$/);
  });

  it('503 with Retry-After when the log is down; nothing answered 200', async () => {
    sink.down = true;
    const r = await post('/v1/track', { userId: 'u', event: 'e' });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.body.error.code).toBe('unavailable');
    const b = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'e' }] });
    expect(b.status).toBe(503);
    expect(b.headers.get('retry-after')).toBe('1');
  });
});

describe('auth', () => {
  const track = { userId: 'u', event: 'e' };
  it.each([
    ['Bearer write key', { authorization: 'Bearer wk' }, track, 200],
    ['Bearer admin key', { authorization: 'Bearer ak' }, track, 200],
    ['Basic username (Segment SDKs)', { authorization: basic('wk') }, track, 200],
    ['writeKey in the body', {}, { ...track, writeKey: 'wk' }, 200],
    ['missing key', {}, track, 401],
    ['unknown key', { authorization: 'Bearer nope' }, track, 401],
    ['unknown Basic key', { authorization: basic('nope') }, track, 401],
    ['unknown body writeKey', {}, { ...track, writeKey: 'nope' }, 401],
    ['read key (wrong scope)', { authorization: 'Bearer rk' }, track, 403],
  ] as const)('%s → %i', async (_n, headers, body, status) => {
    const r = await post('/v1/track', body, { ...headers });
    expect(r.status).toBe(status);
    if (status !== 200) {
      expect(r.body.error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
      expect(sink.records).toHaveLength(0);
    }
  });

  it('batch takes writeKey from the body too', async () => {
    const r = await post('/v1/batch', { writeKey: 'wk', batch: [{ type: 'identify', userId: 'u' }] }, {});
    expect(r.status).toBe(200);
  });
});

describe('/v1/batch', () => {
  it('appends every item, merges batch context under item context, applies envelope sentAt', async () => {
    const r = await post('/v1/batch', {
      context: { library: { name: 'x' }, app: 'a' },
      sentAt: '2024-05-01T12:00:10Z',
      batch: [
        { type: 'track', userId: 'u1', event: 'a', originalTimestamp: '2024-05-01T12:00:00Z' },
        { type: 'identify', anonymousId: 'a1', traits: { x: 1 }, context: { app: 'own' } },
        { type: 'alias', userId: 'u1', previousId: 'a1' },
      ],
    });
    expect(r).toMatchObject({ status: 200, body: { success: true, accepted: 3, rejected: [] } });
    expect(sink.records.map((x) => x.key)).toEqual(['u1', 'a1', 'u1']);
    expect(sink.records[0]?.value.context).toEqual({ library: { name: 'x' }, app: 'a' });
    expect(sink.records[1]?.value.context).toEqual({ library: { name: 'x' }, app: 'own' });
    expect(sink.records[0]?.value.timestamp).toBe('2024-05-01T11:59:50.000Z');
    expect(sink.records[0]?.value.sentAt).toBe('2024-05-01T12:00:10Z');
  });

  it('partial acceptance: good items appended, 200 with the rejected ones by index', async () => {
    const r = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u1', event: 'ok' },
        { type: 'track', userId: 5, event: 'bad' },
        'not an object',
        { type: 'identify', userId: 'u2' },
        { userId: 'u3' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      success: true,
      accepted: 2,
      rejected: [
        { index: 1, errors: [{ path: 'batch[1].userId', message: 'must be a string of at most 256 characters' }] },
        { index: 2, errors: [{ path: 'batch[2]', message: 'must be a JSON object' }] },
        { index: 4, errors: [{ path: 'batch[4].type', message: 'is required and must be one of track, identify, alias, page, screen, group' }] },
      ],
    });
    expect(sink.records.map((x) => x.key)).toEqual(['u1', 'u2']);
  });

  it('400 when no item is valid, with every rejection', async () => {
    const r = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u' }, { type: 'group', userId: 'u' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.message).toBe('no valid message in the batch: batch[0].event: is required for track messages; batch[1].groupId: is required for group messages');
    expect(r.body.error.details.rejected).toHaveLength(2);
    expect(sink.records).toHaveLength(0);
  });

  it('an item over 32 KB is rejected by index; 413 when every item is too large', async () => {
    const big = { type: 'track', userId: 'u', event: 'e', properties: { s: 'x'.repeat(33 * 1024) } };
    const mixed = await post('/v1/batch', { batch: [big, { type: 'identify', userId: 'u' }] });
    expect(mixed.status).toBe(200);
    expect(mixed.body.rejected[0].errors[0].message).toMatch(/^message is \d+ bytes of JSON; the limit is 32768 bytes per message$/);
    const only = await post('/v1/batch', { batch: [big] });
    expect(only.status).toBe(413);
    expect(only.body.error.code).toBe('payload_too_large');
  });

  it('413 over the item limit and over 500 KB', async () => {
    const items = Array.from({ length: 6 }, () => ({ type: 'identify', userId: 'u' }));
    const r = await post('/v1/batch', { batch: items });
    expect(r.status).toBe(413);
    expect(r.body.error.message).toBe('batch has 6 items; the limit is 5 items per batch');
    const huge = await post('/v1/batch', { batch: [{ type: 'identify', userId: 'u', traits: { s: 'x'.repeat(510 * 1024) } }] });
    expect(huge.status).toBe(413);
    expect(huge.body.error.message).toMatch(/^batch is \d+ bytes; the limit is 512000 bytes$/);
  });

  it('400 for a malformed envelope', async () => {
    expect((await post('/v1/batch', { nope: [] })).body.error.message).toBe('batch: is required and must be an array of messages');
    expect((await post('/v1/batch', { batch: [], context: 'x' })).body.error.message).toBe('invalid batch: context: must be an object');
    expect((await post('/v1/batch', { batch: [] })).body).toEqual({ success: true, accepted: 0, rejected: [] });
  });
});

describe('health, metrics, 404', () => {
  it('GET /ingest/health reflects the sink', async () => {
    let r = await fetch(`${srv.url}/ingest/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', service: 'ingest', checks: { eventLog: { status: 'ok' } } });
    sink.down = true;
    r = await fetch(`${srv.url}/ingest/health`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ status: 'degraded', checks: { eventLog: { status: 'error', error: 'event log unavailable' } } });
  });

  it('GET /metrics counts events', async () => {
    await post('/v1/track', { userId: 'u', event: 'e' });
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    expect(text).toMatch(/tinycdp_ingest_events_total\{type="track",outcome="accepted"\} \d+/);
    expect(text).toMatch(/tinycdp_ingest_requests_total\{route="\/v1\/track",status="200"\} \d+/);
  });

  it('unknown routes → JSON 404', async () => {
    const r = await fetch(`${srv.url}/v1/nope`, { method: 'POST' });
    expect(r.status).toBe(404);
    expect(((await r.json()) as Json).error.code).toBe('not_found');
  });
});
