import { describe, expect, it } from 'vitest';
import { parseConfig } from './config';

describe('admin config', () => {
  it('parses with defaults and freezes', () => {
    const c = parseConfig({ DATABASE_URL: 'postgres://u@h:5432/db' });
    expect(c).toMatchObject({ PORT: 4003, TINYCDP_MIGRATE: true, LOG_LEVEL: 'info' });
    expect(c.TINYCDP_ADMIN_KEY).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(parseConfig({ DATABASE_URL: 'postgresql://h/db', TINYCDP_MIGRATE: 'off', PORT: '80' })).toMatchObject({
      TINYCDP_MIGRATE: false,
      PORT: 80,
    });
  });
  it('reports every problem at once and never echoes the admin key', () => {
    const secret = 'short-secret';
    let message = '';
    try {
      parseConfig({ DATABASE_URL: 'mysql://x', PORT: 'abc', TINYCDP_ADMIN_KEY: secret, TINYCDP_MIGRATE: 'maybe' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const v of ['DATABASE_URL', 'PORT', 'TINYCDP_ADMIN_KEY', 'TINYCDP_MIGRATE']) expect(message).toContain(v);
    expect(message).not.toContain(secret);
    expect(() => parseConfig({})).toThrow(/DATABASE_URL is required/);
  });
});
