import { describe, expect, it } from 'vitest';
import { checkPrecondition, etagOf, expectedVersions } from './preconditions';

describe('optimistic concurrency', () => {
  it('formats ETags as quoted versions', () => {
    expect(etagOf(3)).toBe('"3"');
  });
  it('reads If-Match and body versions', () => {
    expect(expectedVersions(undefined, undefined)).toBeNull();
    expect(expectedVersions('"3"', undefined)).toEqual([3]);
    expect(expectedVersions('W/"3", "4"', undefined)).toEqual([3, 4]);
    expect(expectedVersions('*', undefined)).toBe('any');
    expect(expectedVersions(undefined, 5)).toEqual([5]);
    expect(expectedVersions(undefined, '5')).toEqual([5]);
    expect(expectedVersions('"5"', 5)).toEqual([5]);
  });
  it('rejects malformed or contradictory preconditions', () => {
    expect(() => expectedVersions('3', undefined)).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => expectedVersions('"3"', 4)).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => expectedVersions(undefined, 0)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(() => expectedVersions(undefined, 'x')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });
  it('checks the current version', () => {
    expect(() => checkPrecondition(null, 2)).not.toThrow();
    expect(() => checkPrecondition('any', 2)).not.toThrow();
    expect(() => checkPrecondition([2], 2)).not.toThrow();
    expect(() => checkPrecondition([1], 2)).toThrow(expect.objectContaining({ code: 'precondition_failed' }));
  });
});
