import { describe, expect, it } from 'vitest';
import { isAppError } from '@tinycdp/common';
import { RegistryValueDecoder, WIRE_CONTENT_TYPE, toPlainJson, wireEncoder, wireSchemaId } from './schema-registry';

describe('wire format', () => {
  it('encodes magic byte 0, the big-endian id, then the JSON text', () => {
    const e = wireEncoder(258);
    const buf = e.encode('{"a":"é"}');
    expect([...buf.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
    expect(buf.subarray(5).toString('utf8')).toBe('{"a":"é"}');
    expect(wireSchemaId(buf)).toBe(258);
    expect(wireSchemaId(Buffer.from('{"a":1}'))).toBeNull();
    expect(e.contentType).toBe(WIRE_CONTENT_TYPE);
    expect(() => wireEncoder(-1)).toThrow(RangeError);
  });
});

describe('RegistryValueDecoder without a round trip', () => {
  // Port 9 (discard) is never asked: these paths need no registry.
  const dec = new RegistryValueDecoder('http://127.0.0.1:9', { trustedJsonIds: [7] });

  it('parses plain JSON and trusted ids locally', async () => {
    expect(await dec.decode(Buffer.from(' {"a":1}'))).toEqual({ a: 1 });
    expect(await dec.decode(wireEncoder(7).encode('{"b":2}'))).toEqual({ b: 2 });
  });

  it('rejects a truncated wire header and a trusted id with a non-JSON payload as bad messages', async () => {
    for (const value of [Buffer.from([0, 0, 1]), wireEncoder(7).encode('nope')]) {
      let err: unknown;
      try {
        await dec.decode(value);
      } catch (e) {
        err = e;
      }
      expect(isAppError(err) && err.code === 'validation_failed' && !err.retriable).toBe(true);
    }
    expect(() => dec.decode(Buffer.from('nope'))).toThrow(SyntaxError);
  });
});

describe('toPlainJson', () => {
  it('turns decoder objects into plain JSON and keeps a __proto__ key as a key', () => {
    class Long {
      toJSON() {
        return '9007199254740993';
      }
    }
    class Rec {
      constructor(readonly userId: string, readonly at: Date, readonly raw: Buffer) {}
    }
    const out = toPlainJson({ r: new Rec('u1', new Date(0), Buffer.from('hi')), n: 10n, l: [new Long()] }) as any;
    expect(out).toEqual({ r: { userId: 'u1', at: '1970-01-01T00:00:00.000Z', raw: 'aGk=' }, n: '10', l: ['9007199254740993'] });
    expect(Object.getPrototypeOf(out.r)).toBe(Object.prototype);
    const evil = toPlainJson(JSON.parse('{"__proto__":{"x":1}}')) as object;
    expect(Object.keys(evil)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(evil)).toBe(Object.prototype);
  });
});
