import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config';

describe('loadIngestConfig', () => {
  it('parses and freezes, with defaults', () => {
    const c = loadIngestConfig({ KAFKA_BROKERS: 'a:9092, b:9093' });
    expect(c).toEqual({ kafkaBrokers: ['a:9092', 'b:9093'], port: 4001, topicPrefix: 'tinycdp.', adminKey: undefined, logLevel: 'info' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(() => loadIngestConfig({ KAFKA_BROKERS: 'nope', PORT: 'x', TINYCDP_TOPIC_PREFIX: 'a b', LOG_LEVEL: 'loud' })).toThrow(
      /KAFKA_BROKERS: each broker must be host:port\n.*PORT: .*\n.*TINYCDP_TOPIC_PREFIX: may only contain.*\n.*LOG_LEVEL/,
    );
    expect(() => loadIngestConfig({})).toThrow(/KAFKA_BROKERS: is required/);
  });
});
