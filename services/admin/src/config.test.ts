import { describe, expect, it } from 'vitest';
import { parseConfig } from './config';

describe('admin config', () => {
  it('parses with defaults and freezes', () => {
    const c = parseConfig({ DATABASE_URL: 'postgres://u@h:5432/db' });
    expect(c).toMatchObject({ PORT: 4003, TINYCDP_MIGRATE: true, LOG_LEVEL: 'info', TINYCDP_PARTITIONS: 6, TINYCDP_REPLICATION_FACTOR: 1 });
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
  it('reads the topic partitions (1..1024) and replication factor (1..32) it creates topics with', () => {
    const db = 'postgres://u@h:5432/db';
    expect(parseConfig({ DATABASE_URL: db, TINYCDP_PARTITIONS: '1024', TINYCDP_REPLICATION_FACTOR: '3' })).toMatchObject({
      TINYCDP_PARTITIONS: 1024,
      TINYCDP_REPLICATION_FACTOR: 3,
    });
    expect(() => parseConfig({ DATABASE_URL: db, TINYCDP_PARTITIONS: '1025', TINYCDP_REPLICATION_FACTOR: '0' })).toThrow(
      /TINYCDP_PARTITIONS: TINYCDP_PARTITIONS must be a whole number from 1 to 1024\n.*TINYCDP_REPLICATION_FACTOR: TINYCDP_REPLICATION_FACTOR must be a whole number from 1 to 32/,
    );
    expect(() => parseConfig({ DATABASE_URL: db, TINYCDP_REPLICATION_FACTOR: '33' })).toThrow(/TINYCDP_REPLICATION_FACTOR must be/);
    expect(() => parseConfig({ DATABASE_URL: db, TINYCDP_PARTITIONS: 'x' })).toThrow(/TINYCDP_PARTITIONS must be a whole number/);
  });
});
