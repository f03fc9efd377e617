/**
 * OFREP: the wire format, and the proof that a stock OpenFeature server SDK with the OFREP provider
 * evaluates flags of every type against decide.
 */
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { ErrorCode, OpenFeature, StandardResolutionReasons } from '@openfeature/server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices, isolatedRedisPrefix } from '@tinycdp/testkit';
import { MemoryKeyVerifier, startSeededDecide, type SeededDecide } from './test-fixtures';

const READ = 'ofrep-read-key';
let decide: SeededDecide | undefined;
let base: string;

async function ofrep(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/ofrep/v1/evaluate/flags${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${READ}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

beforeAll(async () => {
  const keys = new MemoryKeyVerifier().add(READ, 'read').add('w', 'write');
  decide = await startSeededDecide(getServices().redisUrl, isolatedRedisPrefix(), keys);
  base = decide.base;
});

afterAll(async () => {
  await OpenFeature.close();
  await decide?.close();
});

describe('OFREP wire format', () => {
  it('single flag: {key, value, reason, variant, metadata}', async () => {
    const r = await ofrep('/premium_features', { context: { targetingKey: 'vip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(r.body).toEqual({
      key: 'premium_features',
      value: true,
      reason: 'TARGETING_MATCH',
      variant: 'rule_0',
      metadata: { version: 1, enabled: true, ruleIndex: 0 },
    });
    // Other context attributes are context.* for rules.
    expect((await ofrep('/banner_color', { context: { targetingKey: 'newbie', country: 'FR' } })).body).toMatchObject({
      value: 'blue',
      reason: 'TARGETING_MATCH',
    });
    expect((await ofrep('/kill_switch', { context: { targetingKey: 'vip' } })).body).toMatchObject({ value: true, reason: 'DISABLED', variant: 'default' });
  });

  it('errors: FLAG_NOT_FOUND 404, TARGETING_KEY_MISSING / PARSE_ERROR / INVALID_CONTEXT 400, auth 401/403', async () => {
    expect(await ofrep('/nope', { context: { targetingKey: 'vip' } })).toMatchObject({
      status: 404,
      body: { key: 'nope', errorCode: 'FLAG_NOT_FOUND' },
    });
    expect(await ofrep('/premium_features', { context: { country: 'DE' } })).toMatchObject({
      status: 400,
      body: { key: 'premium_features', errorCode: 'TARGETING_KEY_MISSING' },
    });
    expect(await ofrep('/premium_features', '{nope')).toMatchObject({ status: 400, body: { errorCode: 'PARSE_ERROR' } });
    expect(await ofrep('/premium_features', { context: 'x' })).toMatchObject({ status: 400, body: { errorCode: 'INVALID_CONTEXT' } });
    expect((await ofrep('/premium_features', { context: { targetingKey: 'vip' } }, { authorization: 'Bearer bad' })).status).toBe(401);
    expect((await ofrep('/premium_features', { context: { targetingKey: 'vip' } }, { authorization: 'Bearer w' })).status).toBe(403);
    const noKey = await ofrep('', { context: { targetingKey: 'vip' } }, { authorization: '' });
    expect(noKey.status).toBe(401);
  });

  it('bulk: every flag, ETag, 304 on If-None-Match, new ETag when the answer changes', async () => {
    const r = await ofrep('', { context: { targetingKey: 'vip' } });
    expect(r.status).toBe(200);
    expect(r.body.flags.map((f: any) => f.key)).toEqual([
      'banner_color',
      'big_spender',
      'checkout_config',
      'discount_pct',
      'kill_switch',
      'new_checkout',
      'premium_features',
    ]);
    expect(r.body.flags.find((f: any) => f.key === 'checkout_config')).toMatchObject({ value: { steps: 1, express: true } });
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const again = await ofrep('', { context: { targetingKey: 'vip' } }, { 'if-none-match': etag! });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    const other = await ofrep('', { context: { targetingKey: 'newbie' } }, { 'if-none-match': etag! });
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).not.toBe(etag);
    expect((await ofrep('', { context: {} })).body).toMatchObject({ errorCode: 'TARGETING_KEY_MISSING' });
  });
});

describe('OpenFeature server SDK + OFREP provider', () => {
  it('evaluates boolean, string, number and object flags, and reports FLAG_NOT_FOUND', async () => {
    await OpenFeature.setProviderAndWait(
      'decide-int',
      new OFREPProvider({ baseUrl: base, headers: { Authorization: `Bearer ${READ}` } }),
    );
    const client = OpenFeature.getClient('decide-int');

    const b = await client.getBooleanDetails('premium_features', false, { targetingKey: 'vip' });
    expect(b).toMatchObject({ value: true, reason: StandardResolutionReasons.TARGETING_MATCH, variant: 'rule_0' });
    expect(b.flagMetadata).toMatchObject({ version: 1, ruleIndex: 0 });
    expect(b.errorCode).toBeUndefined();
    expect(await client.getBooleanValue('premium_features', true, { targetingKey: 'buyer' })).toBe(false);

    expect(await client.getStringValue('banner_color', 'none', { targetingKey: 'vip' })).toBe('gold');
    expect(await client.getStringValue('banner_color', 'none', { targetingKey: 'newbie', country: 'FR' })).toBe('blue');
    expect(await client.getNumberValue('discount_pct', -1, { targetingKey: 'vip' })).toBe(15);
    expect(await client.getObjectValue('checkout_config', {}, { targetingKey: 'vip' })).toEqual({ steps: 1, express: true });

    const split = await client.getBooleanDetails('new_checkout', false, { targetingKey: 'newbie', country: 'DE' });
    expect(split).toMatchObject({ value: true, reason: 'TARGETING_MATCH', variant: 'rule_1' });

    const missing = await client.getBooleanDetails('does_not_exist', true, { targetingKey: 'vip' });
    expect(missing).toMatchObject({ value: true, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });

    const noKey = await client.getBooleanDetails('premium_features', false, {});
    expect(noKey.errorCode).toBe(ErrorCode.TARGETING_KEY_MISSING);

    // The provider checks the type against the caller's default.
    const mismatch = await client.getStringDetails('premium_features', 'x', { targetingKey: 'vip' });
    expect(mismatch).toMatchObject({ value: 'x', errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it('a bad key surfaces as an evaluation error (default answered)', async () => {
    await OpenFeature.setProviderAndWait('decide-int-badkey', new OFREPProvider({ baseUrl: base, headers: { Authorization: 'Bearer nope' } }));
    const d = await OpenFeature.getClient('decide-int-badkey').getBooleanDetails('premium_features', false, { targetingKey: 'vip' });
    expect(d).toMatchObject({ value: false, reason: 'ERROR' });
    expect(d.errorCode).toBeDefined();
  });
});
