import { describe, expect, it } from 'vitest';
import { assertDefinitionKey, definitionKeyProblem } from './key-rules';

describe('definition keys', () => {
  it.each(['a', 'frequent_buyer', 'vip_users', 'x1_2', 'a'.repeat(64)])('accepts %s', (k) => {
    expect(definitionKeyProblem(k)).toBeNull();
  });
  it.each([
    ['', 'lower-case'],
    ['1abc', 'lower-case'],
    ['_a', 'lower-case'],
    ['Abc', 'lower-case'],
    ['a-b', 'lower-case'],
    ['a b', 'lower-case'],
    ['a'.repeat(65), '64'],
    ['events', 'reserved'],
    ['segment', 'reserved'],
    ['true', 'reserved'],
    ['last_seen_minutes_ago', 'reserved'],
  ])('rejects %j', (k, why) => {
    expect(definitionKeyProblem(k)).toContain(why);
  });
  it('rejects non-strings and names the field', () => {
    expect(definitionKeyProblem(42)).toBe('key must be a string');
    expect(() => assertDefinitionKey('Bad', 'key')).toThrow(expect.objectContaining({ code: 'validation_failed', details: { field: 'key' } }));
  });
});
