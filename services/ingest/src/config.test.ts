import { describe, expect, it } from 'vitest';
import { loadIngestConfig, produceThread } from './config';

describe('loadIngestConfig', () => {
  it('parses and freezes, with defaults', () => {
    const c = loadIngestConfig({ KAFKA_BROKERS: 'a:9092, b:9093', DATABASE_URL: 'postgres://db/x' });
    expect(c).toEqual({
      kafkaBrokers: ['a:9092', 'b:9093'],
      port: 4001,
      topicPrefix: 'tinycdp.',
      partitions: 6,
      replicationFactor: 1,
      databaseUrl: 'postgres://db/x',
      logLevel: 'info',
      produceThread: produceThread('auto'),
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('produces from a thread of its own from two cores (auto), or as TINYCDP_PRODUCE_THREAD says', () => {
    expect([produceThread('auto', 1), produceThread('auto', 2), produceThread(undefined, 8)]).toEqual([false, true, true]);
    expect(['true', 'ON', 'yes', 'false', 'no', 'off'].map((v) => produceThread(v, 1))).toEqual([true, true, true, false, false, false]);
    const base = { KAFKA_BROKERS: 'a:9092', DATABASE_URL: 'postgres://db/x' };
    expect(loadIngestConfig({ ...base, TINYCDP_PRODUCE_THREAD: 'false' }).produceThread).toBe(false);
    expect(() => loadIngestConfig({ ...base, TINYCDP_PRODUCE_THREAD: 'sometimes' })).toThrow(/TINYCDP_PRODUCE_THREAD: must be auto, true or false/);
  });

  it('reports every problem at once', () => {
    expect(() =>
      loadIngestConfig({ KAFKA_BROKERS: 'nope', PORT: 'x', TINYCDP_TOPIC_PREFIX: 'a b', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' }),
    ).toThrow(/KAFKA_BROKERS: each broker must be host:port\n.*PORT: .*\n.*TINYCDP_TOPIC_PREFIX: may only contain.*\n.*DATABASE_URL: must be a postgres.*\n.*LOG_LEVEL/);
    expect(() => loadIngestConfig({})).toThrow(/KAFKA_BROKERS: is required[\s\S]*DATABASE_URL: is required/);
  });

  it('reads the topic partitions (1..1024) and replication factor (1..32) it creates topics with', () => {
    const base = { KAFKA_BROKERS: 'a:9092', DATABASE_URL: 'postgres://db/x' };
    expect(loadIngestConfig({ ...base, TINYCDP_PARTITIONS: '12', TINYCDP_REPLICATION_FACTOR: '3' })).toMatchObject({
      partitions: 12,
      replicationFactor: 3,
    });
    expect(loadIngestConfig({ ...base, TINYCDP_PARTITIONS: '1024', TINYCDP_REPLICATION_FACTOR: '32' })).toMatchObject({
      partitions: 1024,
      replicationFactor: 32,
    });
    expect(() => loadIngestConfig({ ...base, TINYCDP_PARTITIONS: '0', TINYCDP_REPLICATION_FACTOR: '33' })).toThrow(
      /TINYCDP_PARTITIONS: must be a whole number from 1 to 1024\n.*TINYCDP_REPLICATION_FACTOR: must be a whole number from 1 to 32/,
    );
    expect(() => loadIngestConfig({ ...base, TINYCDP_PARTITIONS: '1025' })).toThrow(/TINYCDP_PARTITIONS: must be a whole number/);
    expect(() => loadIngestConfig({ ...base, TINYCDP_PARTITIONS: 'six', TINYCDP_REPLICATION_FACTOR: '1.5' })).toThrow(
      /TINYCDP_PARTITIONS: must be a whole number[\s\S]*TINYCDP_REPLICATION_FACTOR: must be a whole number/,
    );
  });
});
