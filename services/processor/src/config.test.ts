import { describe, expect, it } from 'vitest';
import { parseConfig, useFetchThread } from './config';

const required = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('processor config', () => {
  it('applies defaults and freezes', () => {
    const c = parseConfig(required);
    expect(c).toMatchObject({ TINYCDP_PARTITIONS: 6, TINYCDP_REPLICATION_FACTOR: 1, TINYCDP_PROCESSOR_GROUP: 'tinycdp-processor', PORT: 4002 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads the topic partitions (1..1024) and replication factor (1..32) it creates topics with', () => {
    expect(parseConfig({ ...required, TINYCDP_PARTITIONS: '1', TINYCDP_REPLICATION_FACTOR: '32' })).toMatchObject({
      TINYCDP_PARTITIONS: 1,
      TINYCDP_REPLICATION_FACTOR: 32,
    });
    for (const [name, value] of [
      ['TINYCDP_PARTITIONS', '0'],
      ['TINYCDP_PARTITIONS', '1025'],
      ['TINYCDP_PARTITIONS', '2.5'],
      ['TINYCDP_REPLICATION_FACTOR', '0'],
      ['TINYCDP_REPLICATION_FACTOR', '33'],
      ['TINYCDP_REPLICATION_FACTOR', 'three'],
    ] as const) {
      expect(() => parseConfig({ ...required, [name]: value }), `${name}=${value}`).toThrow(new RegExp(`^invalid processor configuration:\\n  ${name}: `));
    }
  });

  it('reads the fetch size in MiB (1..512, default 48)', () => {
    expect(parseConfig(required).TINYCDP_FETCH_MB).toBe(48);
    expect(parseConfig({ ...required, TINYCDP_FETCH_MB: '8' }).TINYCDP_FETCH_MB).toBe(8);
    for (const value of ['0', '513', '1.5', 'lots']) {
      expect(() => parseConfig({ ...required, TINYCDP_FETCH_MB: value }), value).toThrow(/^invalid processor configuration:\n  TINYCDP_FETCH_MB: /);
    }
  });

  it('reports every problem at once', () => {
    expect(() => parseConfig({ TINYCDP_PARTITIONS: '0', TINYCDP_REPLICATION_FACTOR: '99' })).toThrow(
      /KAFKA_BROKERS[\s\S]*REDIS_URL[\s\S]*TINYCDP_PARTITIONS[\s\S]*TINYCDP_REPLICATION_FACTOR/,
    );
  });

  it('TINYCDP_FETCH_THREAD: auto (default) puts the Kafka client on a thread from 2 cores; true/false force it', () => {
    expect(parseConfig(required).TINYCDP_FETCH_THREAD).toBe('auto');
    expect(useFetchThread('auto', 1)).toBe(false);
    expect(useFetchThread(undefined, 2)).toBe(true);
    expect(useFetchThread('true', 1)).toBe(true);
    expect(useFetchThread('off', 16)).toBe(false);
    expect(() => parseConfig({ ...required, TINYCDP_FETCH_THREAD: 'sometimes' })).toThrow(/TINYCDP_FETCH_THREAD: must be auto, true or false/);
  });
});
