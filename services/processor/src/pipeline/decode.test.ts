import { describe, expect, it } from 'vitest';
import { AppError } from '@tinycdp/common';
import { buildPlan } from '@tinycdp/engine';
import { eventDigest, normalizeMessage } from '@tinycdp/events';
import { decodeDigest, decodeMessage, decodeMessageSyncWhenPossible, decodeMessageWith } from './decode';
import type { LogMessage } from '../ports';

const msg = (value: Buffer | string): LogMessage => ({
  partition: 0,
  offset: '5',
  key: 'u1',
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  timestamp: '1700000000000',
});
const track = JSON.stringify({ type: 'track', userId: 'u1', event: 'purchase' });

describe('decodeMessageWith', () => {
  it('decodes plain JSON by default, as decodeMessage does', async () => {
    const a = await decodeMessageWith(msg(track), 't', 0);
    expect(a).toEqual(decodeMessage(msg(track), 't', 0));
    expect(a.kind).toBe('ok');
  });

  it('explains a wire-format value when no registry is configured', async () => {
    const wire = Buffer.concat([Buffer.from([0, 0, 0, 0, 9]), Buffer.from(track)]);
    const r = await decodeMessageWith(msg(wire), 't', 0);
    expect(r).toEqual({ kind: 'dlq', reason: expect.stringMatching(/wire format \(schema id 9\) but no schema registry/) });
  });

  it('uses the injected decoder: bad values → DLQ with the reason, retriable faults → thrown', async () => {
    const ok = await decodeMessageWith(msg('x'), 't', 0, async () => JSON.parse(track));
    expect(ok.kind).toBe('ok');
    const bad = await decodeMessageWith(msg('x'), 't', 0, () => {
      throw new AppError('validation_failed', 'unknown schema id 3');
    });
    expect(bad).toEqual({ kind: 'dlq', reason: 'unknown schema id 3' });
    const notJson = await decodeMessageWith(msg('{'), 't', 0);
    expect(notJson.kind === 'dlq' && notJson.reason).toMatch(/^value is not JSON/);
    await expect(
      decodeMessageWith(msg('x'), 't', 0, async () => {
        throw new AppError('unavailable', 'registry down', { retriable: true });
      }),
    ).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('decodeMessageSyncWhenPossible', () => {
  it('answers synchronously for a synchronous decoder, with what decodeMessage gives', () => {
    const r = decodeMessageSyncWhenPossible(msg(track), 't', 0);
    expect(r).not.toBeInstanceOf(Promise);
    expect(r).toEqual(decodeMessage(msg(track), 't', 0));
    expect(decodeMessageSyncWhenPossible(msg('{'), 't', 0)).toMatchObject({ kind: 'dlq', reason: expect.stringMatching(/^value is not JSON/) });
  });

  it('gives the position id to a message without messageId, and keeps an own one', () => {
    const own = decodeMessageSyncWhenPossible(msg(JSON.stringify({ type: 'track', userId: 'u1', event: 'e', messageId: 'm-1' })), 't', 0);
    expect(own).toMatchObject({ kind: 'ok', event: { messageId: 'm-1' } });
    expect(decodeMessageSyncWhenPossible(msg(track), 'topic', 0)).toMatchObject({ kind: 'ok', event: { messageId: 'topic/0/5' } });
  });

  it('returns a promise for an asynchronous decoder, and throws or rejects retriable faults the same way', async () => {
    const pending = decodeMessageSyncWhenPossible(msg('x'), 't', 0, async () => JSON.parse(track));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(decodeMessage(msg(track), 't', 0));
    const fault = new AppError('unavailable', 'registry down', { retriable: true });
    expect(() =>
      decodeMessageSyncWhenPossible(msg('x'), 't', 0, () => {
        throw fault;
      }),
    ).toThrow(fault);
    await expect(
      decodeMessageSyncWhenPossible(msg('x'), 't', 0, async () => {
        throw fault;
      }),
    ).rejects.toBe(fault);
    expect(
      await decodeMessageSyncWhenPossible(msg('x'), 't', 0, async () => {
        throw new AppError('validation_failed', 'unknown schema id 3');
      }),
    ).toEqual({ kind: 'dlq', reason: 'unknown schema id 3' });
  });
});

describe('decodeDigest', () => {
  const plan = buildPlan([
    { kind: 'segment', key: 'active', rule: 'events.app_open.count_7d >= 1', version: 1 },
    { kind: 'segment', key: 'big', rule: 'events.purchase.sum(properties.amount, 30d) >= 100', version: 1 },
  ]).plan;
  const event = (name: string) =>
    normalizeMessage({ type: 'track', messageId: `m-${name}`, userId: 'u1', event: name, properties: { amount: 5 }, timestamp: '2023-11-14T22:00:00.000Z' }, {
      receivedAt: 1700000000000,
      newId: () => 'unused',
    });
  const withDigest = (value: string, name: string): LogMessage => ({ ...msg(value), digest: eventDigest(event(name))! });

  it('takes an event no rule looks into from its digest, without parsing the value', () => {
    const r = decodeDigest(withDigest('not json at all', 'app_open'), plan, 0);
    expect(r).toEqual({ kind: 'ok', event: { ...event('app_open'), properties: {} } });
    // … which is the value's own event but for the body no rule reads.
    const whole = decodeMessage(withDigest(JSON.stringify(event('app_open')), 'app_open'), 't', 0);
    expect(whole).toEqual({ kind: 'ok', event: event('app_open') });
  });

  it('leaves the value to decide when a rule reads the body, the digest is bad, or there is none', () => {
    expect(decodeDigest(withDigest('not json', 'purchase'), plan, 0)).toBeNull(); // sum(properties.amount)
    expect(decodeMessage(withDigest('not json', 'purchase'), 't', 0).kind).toBe('dlq');
    expect(decodeDigest({ ...msg('{}'), digest: 'garbage' }, plan, 0)).toBeNull();
    expect(decodeDigest(msg(track), plan, 0)).toBeNull();
    expect(decodeDigest({ ...withDigest('x', 'app_open'), value: Buffer.alloc(0) }, plan, 0)).toBeNull(); // empty value: DLQ as ever
  });
});
