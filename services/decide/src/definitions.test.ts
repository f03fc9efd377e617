import { describe, expect, it } from 'vitest';
import { parseDefinitions } from './definitions';

const flag = (key: string, version: number) =>
  JSON.stringify({ kind: 'flag', key, enabled: true, valueType: 'boolean', rules: [], default: false, version });

describe('parseDefinitions', () => {
  it('keeps live definitions, drops tombstones, reports unreadable fields', () => {
    const r = parseDefinitions({
      'flag:a': flag('a', 1),
      'flag:gone': JSON.stringify({ deleted: true, version: 4 }),
      'segment:s': JSON.stringify({ kind: 'segment', key: 's', rule: 'true', version: 2 }),
      'trait:bad': '{not json',
      'flag:noshape': JSON.stringify({ version: 1, enabled: true }),
      weird: '{}',
    });
    expect(r.definitions.map((d) => `${d.kind}:${d.key}`)).toEqual(['flag:a', 'segment:s']);
    expect(r.invalid.map((i) => i.field).sort()).toEqual(['flag:noshape', 'trait:bad', 'weird']);
  });

  it('takes kind and key from the field', () => {
    const r = parseDefinitions({ 'flag:real': flag('other', 1) });
    expect(r.definitions[0]).toMatchObject({ kind: 'flag', key: 'real' });
  });

  it('etag changes iff a version changes', () => {
    const a = parseDefinitions({ 'flag:a': flag('a', 1), 'flag:b': flag('b', 1) }).etag;
    expect(parseDefinitions({ 'flag:b': flag('b', 1), 'flag:a': flag('a', 1) }).etag).toBe(a);
    expect(parseDefinitions({ 'flag:a': flag('a', 2), 'flag:b': flag('b', 1) }).etag).not.toBe(a);
    expect(parseDefinitions({ 'flag:a': flag('a', 1) }).etag).not.toBe(a);
  });
});
