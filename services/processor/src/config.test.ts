import { describe, expect, it } from 'vitest';
import { fetchThreads, parseConfig } from './config';

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

  it('TINYCDP_FETCH_THREAD: auto (default) runs two Kafka threads from 2 cores, none on one; true/false/a count force it', () => {
    expect(parseConfig(required).TINYCDP_FETCH_THREAD).toBe('auto');
    expect(fetchThreads('auto', 1)).toBe(0);
    expect(fetchThreads(undefined, 2)).toBe(2);
    expect(fetchThreads('auto', 64)).toBe(2);
    expect(fetchThreads('true', 1)).toBe(1);
    expect(fetchThreads('off', 16)).toBe(0);
    expect(fetchThreads('4', 2)).toBe(4);
    expect(fetchThreads('0', 8)).toBe(0);
    expect(parseConfig({ ...required, TINYCDP_FETCH_THREAD: '16' }).TINYCDP_FETCH_THREAD).toBe('16');
    for (const bad of ['sometimes', '17', '-1', '2.5', ' 2']) {
      expect(() => parseConfig({ ...required, TINYCDP_FETCH_THREAD: bad }), bad).toThrow(/TINYCDP_FETCH_THREAD: must be auto, true, false or a number of threads up to 16/);
      expect(() => fetchThreads(bad, 2), bad).toThrow(/not auto, true, false or 0–16/);
    }
  });
});
