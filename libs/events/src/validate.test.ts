import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { validateMessage } from './validate';
import { isBlockedId, eventKey } from './identity';
import { LIMITS } from './limits';

const ok = (input: unknown, opts?: Parameters<typeof validateMessage>[2]) => {
  const r = validateMessage(input, '', opts);
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r.message;
};
const errs = (input: unknown, path = '', opts?: Parameters<typeof validateMessage>[2]) => {
  const r = validateMessage(input, path, opts);
  if (r.ok) throw new Error('expected errors');
  return r.errors.map((e) => `${e.path}: ${e.message}`);
};

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('validateMessage: valid messages', () => {
  const cases: [string, unknown][] = [
    ['track', { type: 'track', userId: 'u1', event: 'Order Completed', properties: { amount: 9.5 } }],
    ['track anonymous', { type: 'track', anonymousId: 'a1', event: 'x' }],
    ['identify', { type: 'identify', userId: 'u1', traits: { plan: 'pro' } }],
    ['alias', { type: 'alias', userId: 'u1', previousId: 'a1' }],
    ['page', { type: 'page', anonymousId: 'a1', name: 'Home' }],
    ['screen', { type: 'screen', userId: 'u1' }],
    ['group', { type: 'group', userId: 'u1', groupId: 'g1', traits: {} }],
    ['nulls as absent (normalized CdpEvent)', { type: 'identify', userId: 'u1', anonymousId: null, event: null, timestamp: null }],
    ['extra Segment fields', { type: 'track', userId: 'u', event: 'e', integrations: { All: true }, _metadata: {} }],
    ['timestamps with offsets', { type: 'track', userId: 'u', event: 'e', timestamp: '2024-05-01T12:00:00+02:00', sentAt: '2024-05-01T10:00:00.123Z' }],
    ['depth exactly 32 (message = 1)', { type: 'track', userId: 'u', event: 'e', properties: nest(31) }],
    ['id of 256 chars', { type: 'identify', userId: 'x'.repeat(256) }],
  ];
  it.each(cases)('%s', (_name, input) => {
    expect(ok(input).type).toBeDefined();
  });

  it('keeps only known fields and reads null as absent', () => {
    const m = ok({ type: 'track', userId: 'u', anonymousId: null, event: 'e', integrations: {} });
    expect(m).toEqual({ type: 'track', userId: 'u', event: 'e' });
  });

  it('takes the type from the endpoint', () => {
    expect(ok({ userId: 'u', event: 'e' }, { type: 'track' }).type).toBe('track');
  });
});

describe('validateMessage: errors name the field and the problem', () => {
  const cases: [string, unknown, string, string[]][] = [
    ['not an object', [1], 'batch[3]', ['batch[3]: must be a JSON object']],
    ['numeric userId', { type: 'identify', userId: 5 }, 'batch[3]', ['batch[3].userId: must be a string of at most 256 characters']],
    ['long userId', { type: 'identify', userId: 'x'.repeat(257) }, 'batch[3]', ['batch[3].userId: must be a string of at most 256 characters']],
    ['no identity', { type: 'track', event: 'e' }, '', ['userId: a userId or an anonymousId is required']],
    ['missing type', { userId: 'u' }, '', ['type: is required and must be one of track, identify, alias, page, screen, group']],
    ['bad type', { type: 'purchase', userId: 'u' }, '', ['type: must be one of track, identify, alias, page, screen, group']],
    ['track without event', { type: 'track', userId: 'u' }, '', ['event: is required for track messages']],
    ['track with null event', { type: 'track', userId: 'u', event: null }, '', ['event: is required for track messages']],
    ['empty event', { type: 'track', userId: 'u', event: '' }, '', ['event: must not be empty']],
    ['long event', { type: 'track', userId: 'u', event: 'e'.repeat(201) }, '', ['event: must be a string of at most 200 characters']],
    ['alias without previousId', { type: 'alias', userId: 'u' }, '', ['previousId: is required for alias messages']],
    ['group without groupId', { type: 'group', userId: 'u' }, '', ['groupId: is required for group messages']],
    ['properties array', { type: 'track', userId: 'u', event: 'e', properties: [] }, '', ['properties: must be an object']],
    ['traits string', { type: 'identify', userId: 'u', traits: 'x' }, '', ['traits: must be an object']],
    ['bad timestamp', { type: 'identify', userId: 'u', timestamp: 'yesterday' }, '', ['timestamp: must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)']],
    ['timestamp without zone', { type: 'identify', userId: 'u', sentAt: '2024-05-01T12:00:00' }, '', ['sentAt: must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)']],
    ['impossible date', { type: 'identify', userId: 'u', originalTimestamp: '2024-02-30T00:00:00Z' }, '', ['originalTimestamp: must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)']],
    ['leap second does not parse', { type: 'identify', userId: 'u', timestamp: '2016-12-31T23:59:60Z' }, '', ['timestamp: must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)']],
    ['blocked userId', { type: 'identify', userId: 'NULL' }, 'batch[0]', ['batch[0].userId: "NULL" is a placeholder, not an id; send a real id or omit the field']],
    ['blocked anonymousId', { type: 'identify', userId: 'u', anonymousId: '[object Object]' }, '', ['anonymousId: "[object Object]" is a placeholder, not an id; send a real id or omit the field']],
    ['blocked previousId', { type: 'alias', userId: 'u', previousId: 'undefined' }, '', ['previousId: "undefined" is a placeholder, not an id; send a real id or omit the field']],
    ['empty userId', { type: 'identify', userId: '' }, '', ['userId: must not be empty']],
    ['__proto__ in properties', JSON.parse('{"type":"track","userId":"u","event":"e","properties":{"a":{"__proto__":{"x":1}}}}'), '', ['properties.a.__proto__: the key "__proto__" is not allowed (prototype pollution)']],
    ['constructor in traits', { type: 'identify', userId: 'u', traits: { constructor: 1 } }, '', ['traits.constructor: the key "constructor" is not allowed (prototype pollution)']],
    ['prototype in context array', { type: 'identify', userId: 'u', context: { l: [{ prototype: 1 }] } }, '', ['context.l[0].prototype: the key "prototype" is not allowed (prototype pollution)']],
    ['depth 33', { type: 'track', userId: 'u', event: 'e', properties: nest(32) }, '', [`properties${'.a'.repeat(31)}: is nested too deeply (more than 32 levels)`]],
    ['wrong type for endpoint', { type: 'identify', userId: 'u' }, '', ['type: must be "track" on this endpoint (or omitted)']],
  ];
  it.each(cases)('%s', (_name, input, path, expected) => {
    const opts = _name === 'wrong type for endpoint' ? { type: 'track' as const } : undefined;
    expect(errs(input, path, opts)).toEqual(expected);
  });

  it('reports every problem at once', () => {
    expect(errs({ type: 'track', userId: 5, properties: 1, timestamp: 'x' })).toEqual([
      'event: is required for track messages',
      'userId: must be a string of at most 256 characters',
      'properties: must be an object',
      'timestamp: must be an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)',
    ]);
  });

  it('rejects messages over 32 KB, naming the size and the limit', () => {
    const big = { type: 'track', userId: 'u', event: 'e', properties: { s: 'x'.repeat(LIMITS.maxMessageBytes) } };
    expect(errs(big, 'batch[1]')[0]).toMatch(/^batch\[1\]: message is \d+ bytes of JSON; the limit is 32768 bytes per message$/);
  });

  it('survives hostile depth without recursing into it', () => {
    const deep = JSON.parse('{"type":"track","userId":"u","event":"e","properties":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}');
    expect(errs(deep)[0]).toMatch(/nested too deeply/);
  });
});

describe('short form', () => {
  it('{externalId, event, props} is a track with userId and properties', () => {
    expect(ok({ externalId: 'user123', event: 'purchase', props: { amount: 99.99 } }, { type: 'track', shortForm: true })).toEqual({
      type: 'track',
      userId: 'user123',
      event: 'purchase',
      properties: { amount: 99.99 },
    });
  });
  it('{externalId, traits} is an identify', () => {
    expect(ok({ externalId: 'user123', traits: { plan: 'premium' } }, { type: 'identify', shortForm: true })).toEqual({
      type: 'identify',
      userId: 'user123',
      traits: { plan: 'premium' },
    });
  });
  it('names the short-form fields in errors', () => {
    expect(errs({ externalId: 7, event: 'e', props: [] }, '', { type: 'track', shortForm: true })).toEqual([
      'externalId: must be a string of at most 256 characters',
      'props: must be an object',
    ]);
    expect(errs({ externalId: 'a', userId: 'b', event: 'e' }, '', { type: 'track', shortForm: true })).toEqual([
      'externalId: cannot be combined with userId; send one of them',
    ]);
  });
  it('is not accepted unless enabled', () => {
    expect(errs({ externalId: 'u', event: 'e' }, '', { type: 'track' })).toEqual(['userId: a userId or an anonymousId is required']);
  });
});

describe('identity rules', () => {
  it.each(['', '   ', 'null', 'Null', 'undefined', '0', 'anonymous', 'NONE', 'nil', 'guest', '[object Object]', 'NaN', '-1', ' null '])(
    'blocks %j',
    (v) => expect(isBlockedId(v)).toBe(true),
  );
  it.each(['u1', '00', 'nullable', 'guest1', '1', 'a@b.c'])('allows %j', (v) => expect(isBlockedId(v)).toBe(false));
  it('eventKey is userId ?? anonymousId', () => {
    expect(eventKey({ userId: 'u', anonymousId: 'a' })).toBe('u');
    expect(eventKey({ userId: null, anonymousId: 'a' })).toBe('a');
    expect(() => eventKey({ userId: null, anonymousId: null })).toThrow(/userId or an anonymousId/);
  });
});

describe('properties', () => {
  it('validateMessage never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 'track', 'identify'), (v, type) => {
        const r = validateMessage(v, 'x', type ? { type, shortForm: true } : {});
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on message-shaped JSON, and every error names a field under the path', () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.constantFrom('null', '2024-01-01T00:00:00Z', 'track', 'alias'));
    const message = fc.record(
      {
        type: fc.oneof(fc.constantFrom('track', 'identify', 'alias', 'page', 'screen', 'group'), fc.jsonValue({ maxDepth: 0 })),
        userId: field,
        anonymousId: field,
        event: field,
        properties: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), field),
        timestamp: field,
        sentAt: field,
        originalTimestamp: field,
        previousId: field,
        groupId: field,
        externalId: field,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(message, fc.boolean(), (m, shortForm) => {
        const r = validateMessage(m, 'batch[0]', { shortForm, type: shortForm ? 'track' : undefined });
        if (!r.ok) {
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) {
            expect(e.path.startsWith('batch[0]')).toBe(true);
            expect(e.message).not.toMatch(/must match|anyOf|instancePath|schemaPath/);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
