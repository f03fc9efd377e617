import { describe, expect, it } from 'vitest';
import { parseConfig } from './config';

describe('parseConfig', () => {
  it('applies defaults and freezes', () => {
    const c = parseConfig({ REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://x@h/db' });
    expect(c).toMatchObject({ TINYCDP_REDIS_PREFIX: 'tinycdp:', PORT: 4003, TINYCDP_DECIDE_REDIS_TIMEOUT_MS: 50 });
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('reports every problem at once', () => {
    expect(() => parseConfig({ REDIS_URL: 'nope', PORT: '-1', TINYCDP_DECIDE_REDIS_TIMEOUT_MS: '0' })).toThrow(
      /REDIS_URL[\s\S]*DATABASE_URL[\s\S]*PORT[\s\S]*TIMEOUT/,
    );
  });
});
