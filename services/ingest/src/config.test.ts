import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config';

describe('loadIngestConfig', () => {
  it('parses and freezes, with defaults', () => {
    const c = loadIngestConfig({ KAFKA_BROKERS: 'a:9092, b:9093', DATABASE_URL: 'postgres://db/x' });
    expect(c).toEqual({
      kafkaBrokers: ['a:9092', 'b:9093'],
      port: 4001,
      topicPrefix: 'tinycdp.',
      databaseUrl: 'postgres://db/x',
      logLevel: 'info',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(() =>
      loadIngestConfig({ KAFKA_BROKERS: 'nope', PORT: 'x', TINYCDP_TOPIC_PREFIX: 'a b', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' }),
    ).toThrow(/KAFKA_BROKERS: each broker must be host:port\n.*PORT: .*\n.*TINYCDP_TOPIC_PREFIX: may only contain.*\n.*DATABASE_URL: must be a postgres.*\n.*LOG_LEVEL/);
    expect(() => loadIngestConfig({})).toThrow(/KAFKA_BROKERS: is required[\s\S]*DATABASE_URL: is required/);
  });
});
