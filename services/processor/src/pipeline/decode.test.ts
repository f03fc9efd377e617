import { describe, expect, it } from 'vitest';
import { AppError } from '@tinycdp/common';
import { decodeMessage, decodeMessageSyncWhenPossible, decodeMessageWith } from './decode';
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
