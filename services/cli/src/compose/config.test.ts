import { describe, expect, it } from 'vitest';
import { parseAllInOneConfig } from './config';

describe('all-in-one config', () => {
  it('runs with no env at all: embedded backends, 6 partitions, replication factor 1; frozen', () => {
    const c = parseAllInOneConfig({});
    expect(c.KAFKA_BROKERS).toBeUndefined();
    expect(c).toMatchObject({ TINYCDP_PARTITIONS: 6, TINYCDP_REPLICATION_FACTOR: 1, PORT: 4000 });
    expect(Object.isFrozen(c)).toBe(true);
    // An empty value counts as unset (shell `VAR=` exports).
    expect(parseAllInOneConfig({ TINYCDP_PARTITIONS: '', TINYCDP_REPLICATION_FACTOR: '' })).toMatchObject({
      TINYCDP_PARTITIONS: 6,
      TINYCDP_REPLICATION_FACTOR: 1,
    });
  });

  it('reads the topic partitions (1..1024) and replication factor (1..32) it creates Kafka topics with', () => {
    expect(parseAllInOneConfig({ TINYCDP_PARTITIONS: '1024', TINYCDP_REPLICATION_FACTOR: '3' })).toMatchObject({
      TINYCDP_PARTITIONS: 1024,
      TINYCDP_REPLICATION_FACTOR: 3,
    });
    expect(() => parseAllInOneConfig({ TINYCDP_PARTITIONS: '1025', TINYCDP_REPLICATION_FACTOR: '0' })).toThrow(
      /^invalid configuration:\n  TINYCDP_PARTITIONS: .*\n  TINYCDP_REPLICATION_FACTOR: /,
    );
    expect(() => parseAllInOneConfig({ TINYCDP_REPLICATION_FACTOR: '33' })).toThrow(/TINYCDP_REPLICATION_FACTOR: /);
    expect(() => parseAllInOneConfig({ TINYCDP_PARTITIONS: 'many' })).toThrow(/TINYCDP_PARTITIONS: /);
  });

  it('TINYCDP_PRODUCE_THREAD as ingest reads it: auto by default, true/false, anything else refused', () => {
    expect(parseAllInOneConfig({}).TINYCDP_PRODUCE_THREAD).toBe('auto');
    expect(parseAllInOneConfig({ TINYCDP_PRODUCE_THREAD: 'false' }).TINYCDP_PRODUCE_THREAD).toBe('false');
    expect(() => parseAllInOneConfig({ TINYCDP_PRODUCE_THREAD: '2' })).toThrow(/TINYCDP_PRODUCE_THREAD: must be auto, true or false/);
  });

  it('TINYCDP_FETCH_THREAD as the processor reads it: auto by default, true/false or a count, anything else refused', () => {
    expect(parseAllInOneConfig({}).TINYCDP_FETCH_THREAD).toBe('auto');
    expect(parseAllInOneConfig({ TINYCDP_FETCH_THREAD: 'false' }).TINYCDP_FETCH_THREAD).toBe('false');
    expect(parseAllInOneConfig({ TINYCDP_FETCH_THREAD: '3' }).TINYCDP_FETCH_THREAD).toBe('3');
    expect(() => parseAllInOneConfig({ TINYCDP_FETCH_THREAD: 'sometimes' })).toThrow(/TINYCDP_FETCH_THREAD: must be auto, true, false or a number of threads/);
  });
});
