import { describe, expect, it } from 'vitest';
import type { Decision } from '@tinycdp/engine';
import { bulkEtag, etagMatches, flagsBody, ofrepStatus, ofrepSuccess, singleDecisionBody } from './responses';

const d = (over: Partial<Decision> = {}): Decision => ({
  flag: 'f',
  value: true,
  enabled: true,
  reason: 'TARGETING_MATCH',
  ruleIndex: 0,
  version: 3,
  ...over,
});

describe('decide bodies', () => {
  const r = { target: { kind: 'user' as const, userId: 'u1' }, userId: 'u1', anonymousId: null, decisions: [d()] };
  it('single flag is flat with the user', () => {
    expect(singleDecisionBody(r)).toEqual({ flag: 'f', userId: 'u1', enabled: true, value: true, reason: 'TARGETING_MATCH', version: 3, ruleIndex: 0 });
  });
  it('several flags are keyed; anonymous requests echo the anonymousId', () => {
    const anon = { ...r, target: { kind: 'anonymous' as const, anonymousId: 'a' }, userId: null, anonymousId: 'a' };
    expect(flagsBody(anon)).toEqual({ userId: null, anonymousId: 'a', flags: { f: { flag: 'f', enabled: true, value: true, reason: 'TARGETING_MATCH', version: 3, ruleIndex: 0 } } });
  });
});

describe('OFREP bodies', () => {
  it('success with variant and primitive metadata', () => {
    expect(ofrepSuccess(d({ reason: 'SPLIT', ruleIndex: 1, value: 'blue', enabled: true }))).toEqual({
      key: 'f',
      value: 'blue',
      reason: 'SPLIT',
      variant: 'rule_1',
      metadata: { version: 3, enabled: true, ruleIndex: 1 },
    });
    expect(ofrepSuccess(d({ reason: 'DEFAULT', ruleIndex: null, value: false, enabled: false })).variant).toBe('default');
    expect(ofrepSuccess(d({ reason: 'ERROR', ruleIndex: null }), 'redis down').metadata.errorDetails).toBe('redis down');
  });
  it('statuses follow the spec', () => {
    expect(ofrepStatus('FLAG_NOT_FOUND')).toBe(404);
    expect(ofrepStatus('TARGETING_KEY_MISSING')).toBe(400);
    expect(ofrepStatus('PARSE_ERROR')).toBe(400);
    expect(ofrepStatus('GENERAL')).toBe(500);
  });
  it('etags depend on definitions and body; If-None-Match compares weakly, lists and *', () => {
    const e = bulkEtag('abc', '{"flags":[]}');
    expect(e).not.toBe(bulkEtag('abd', '{"flags":[]}'));
    expect(e).not.toBe(bulkEtag('abc', '{"flags":[1]}'));
    expect(etagMatches(e, e)).toBe(true);
    expect(etagMatches(`W/${e}`, e)).toBe(true);
    expect(etagMatches(`"x", ${e}`, e)).toBe(true);
    expect(etagMatches('*', e)).toBe(true);
    expect(etagMatches('"x"', e)).toBe(false);
    expect(etagMatches(undefined, e)).toBe(false);
  });
});
