import { describe, expect, it } from 'vitest';
import { AppError } from '@tinycdp/common';
import { decodeMessage, decodeMessageWith } from './decode';
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
