import { mkdtemp, readdir, readFile, rm, stat, truncate, appendFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, isAppError } from '@tinycdp/common';
import { partitionForKey } from '@tinycdp/kafka';
import { FileEventLog } from './file-event-log';
import type { LogRecord } from './log-consumer';
import { EmbeddedEventSink, LogRecordSink } from './event-sinks';
import { eventLogContract, type ContractLog } from './contracts/event-log.contract';
import { eventually } from './contracts/eventually';

const flip = (buf: Buffer, i: number) => buf.writeUInt8(buf.readUInt8(i) ^ 0xff, i);

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tinycdp-log-'));
}

/** The FileEventLog seen through the contract's surface. */
function asContractLog(log: FileEventLog): ContractLog {
  return {
    createTopic: (topic, partitions) => log.createTopic(topic, { partitions }),
    append: (topic, records) => log.append(topic, records),
    async readAll(topic, partition, fromOffset) {
      const out: LogRecord[] = [];
      for (let from = fromOffset; ; ) {
        const batch = await log.read(topic, partition, from, 100);
        if (batch.length === 0) return out;
        out.push(...batch);
        from = Number(batch[batch.length - 1]!.offset) + 1;
      }
    },
    consume: ({ group, topic, fromBeginning, handler }) =>
      log.consume({ group, topic, fromBeginning, handler: (ms, ctx) => handler(ms, ctx.partition), retry: { initialMs: 20, maxMs: 200 } }),
    committed: (group, topic) => log.committed(group, topic),
  };
}

eventLogContract('FileEventLog', async () => {
  const dir = await tempDir();
  let log = await FileEventLog.open(dir);
  let view = asContractLog(log);
  let n = 0;
  return {
    get log() {
      return view;
    },
    unique: (label) => `${label}-${++n}`,
    async restart() {
      await log.close();
      log = await FileEventLog.open(dir);
      view = asContractLog(log);
    },
    async cleanup() {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('FileEventLog', () => {
  let dir: string;
  let log: FileEventLog;
  beforeEach(async () => {
    dir = await tempDir();
    log = await FileEventLog.open(dir);
  });
  afterEach(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const reopen = async (opts = {}) => {
    await log.close();
    log = await FileEventLog.open(dir, opts);
    return log;
  };

  async function readAll(topic: string, partition: number): Promise<LogRecord[]> {
    return asContractLog(log).readAll(topic, partition, 0);
  }

  it('lays files out as documented', async () => {
    await log.createTopic('tinycdp.events', { partitions: 2 });
    await log.append('tinycdp.events', [{ key: 'u', value: 'x' }]);
    await log.commit('tinycdp-processor', 'tinycdp.events', [[1, 7]]);
    expect(JSON.parse(await readFile(join(dir, 'log', 'tinycdp.events', 'topic.json'), 'utf8'))).toEqual({
      partitions: 2,
      retentionMs: null,
    });
    expect(await readdir(join(dir, 'log', 'tinycdp.events', '0'))).toEqual(['00000000000000000000.log']);
    expect(JSON.parse(await readFile(join(dir, 'offsets', 'tinycdp-processor.json'), 'utf8'))).toEqual({
      'tinycdp.events': { '1': 7 },
    });
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
  });

  it('createTopic is idempotent and keeps the first settings; unknown topics and bad input are AppErrors', async () => {
    await log.createTopic('t', { partitions: 3 });
    await Promise.all([log.createTopic('t', { partitions: 5 }), log.createTopic('t', { partitions: 5 })]);
    expect(log.partitions('t')).toBe(3);
    await Promise.all([log.createTopic('u', { partitions: 2 }), log.createTopic('u', { partitions: 2 })]);
    expect(log.partitions('u')).toBe(2);
    await expect(log.append('nope', [{ key: 'k', value: 'v' }])).rejects.toMatchObject({ code: 'not_found' });
    await expect(log.createTopic('bad/name', { partitions: 1 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.createTopic('z', { partitions: 0 })).rejects.toMatchObject({ code: 'bad_request' });
    await expect(log.append('t', [{ key: 'k', value: 'v', partition: 3 }])).rejects.toMatchObject({ code: 'bad_request' });
    await reopen({ maxRecordBytes: 10 });
    await expect(log.append('t', [{ key: 'k', value: 'x'.repeat(20) }])).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(log.partitions('t')).toBe(3);
  });

  it('keeps data, offsets and committed offsets across close and reopen', async () => {
    await log.createTopic('t', { partitions: 2 });
    const first = await log.append('t', [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
    ]);
    await log.commit('g', 't', [[first[0]!.partition, 1]]);
    await reopen();
    const more = await log.append('t', [{ key: 'a', value: '3' }]);
    expect(more[0]).toEqual({ partition: first[0]!.partition, offset: 2 });
    expect((await readAll('t', more[0]!.partition)).map((m) => m.value!.toString())).toEqual(['1', '2', '3']);
    expect(await log.committed('g', 't')).toEqual(new Map([[first[0]!.partition, 1]]));
  });

  it('spreads null keys round-robin and honours an explicit partition', async () => {
    await log.createTopic('t', { partitions: 3 });
    const r = await log.append('t', [
      { key: null, value: 'a' },
      { key: null, value: 'b' },
      { key: null, value: 'c' },
      { key: 'k', value: 'd', partition: 2 },
    ]);
    expect(new Set(r.slice(0, 3).map((x) => x.partition)).size).toBe(3);
    expect(r[3]!.partition).toBe(2);
    const p2 = await readAll('t', 2);
    expect(p2.some((m) => m.key === 'k' && m.value!.toString() === 'd')).toBe(true);
    expect(p2.find((m) => m.value!.toString() !== 'd')?.key ?? null).toBeNull();
  });

  it('group-commits: many concurrent appends share few fsyncs, each resolving with its own offset', async () => {
    await log.createTopic('t', { partitions: 1 });
    const before = log.stats().flushes;
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append('t', [{ key: 'k', value: String(i) }])));
    const flushes = log.stats().flushes - before;
    expect(flushes).toBeGreaterThanOrEqual(1);
    expect(flushes).toBeLessThan(50);
    expect(results.map((r) => r[0]!.offset).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const stored = await readAll('t', 0);
    results.forEach((r, i) => expect(stored[r[0]!.offset]!.value!.toString()).toBe(String(i)));
  });

  it('honours lingerMs for group commit', async () => {
    await reopen({ lingerMs: 5 });
    await log.createTopic('t', { partitions: 1 });
    const before = log.stats().flushes;
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append('t', [{ key: 'k', value: String(i) }])));
    expect(log.stats().flushes - before).toBeLessThanOrEqual(2);
  });

  describe('recovery', () => {
    async function segmentPath(topic: string, partition: number): Promise<string> {
      const pdir = join(dir, 'log', topic, String(partition));
      const names = (await readdir(pdir)).sort();
      return join(pdir, names[names.length - 1]!);
    }

    it('cuts a torn tail (a record half-written when the process died) and continues after the last whole record', async () => {
      await log.createTopic('t', { partitions: 1 });
      await log.append('t', Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `v${i}` })));
      await log.close();
      const path = await segmentPath('t', 0);
      const size = (await stat(path)).size;
      await truncate(path, size - 3); // the last record loses its tail
      log = await FileEventLog.open(dir);
      expect(log.recovery).toEqual([
        expect.objectContaining({ topic: 't', partition: 0, reason: 'truncated body' }),
      ]);
      expect(log.offsets('t', 0)).toEqual({ low: 0, high: 9 });
      expect((await readAll('t', 0)).map((m) => m.value!.toString())).toEqual(Array.from({ length: 9 }, (_, i) => `v${i}`));
      expect(await log.append('t', [{ key: 'k', value: 'after' }])).toEqual([{ partition: 0, offset: 9 }]);
      expect((await readAll('t', 0)).map((m) => m.value!.toString()).slice(-2)).toEqual(['v8', 'after']);
    });

    it('cuts trailing garbage and a record whose CRC does not match', async () => {
      await log.createTopic('t', { partitions: 1 });
      await log.append('t', [{ key: 'k', value: 'good' }]);
      await log.append('t', [{ key: 'k', value: 'flipped' }]);
      await log.close();
      const path = await segmentPath('t', 0);
      const buf = await readFile(path);
      flip(buf, buf.length - 20); // corrupt the second record's body
      await writeFile(path, buf);
      await appendFile(path, Buffer.from([0, 0, 0]));
      log = await FileEventLog.open(dir);
      expect(log.recovery[0]?.reason).toBe('crc mismatch');
      expect((await readAll('t', 0)).map((m) => m.value!.toString())).toEqual(['good']);
      expect((await stat(path)).size).toBeLessThan(buf.length);
    });

    it('refuses to open when an older (closed) segment is corrupt rather than silently dropping data', async () => {
      await reopen({ segmentBytes: 200 });
      await log.createTopic('t', { partitions: 1 });
      for (let i = 0; i < 10; i++) await log.append('t', [{ key: 'k', value: 'x'.repeat(60) }]);
      await log.close();
      const pdir = join(dir, 'log', 't', '0');
      const names = (await readdir(pdir)).sort();
      expect(names.length).toBeGreaterThan(2);
      const first = join(pdir, names[0]!);
      const buf = await readFile(first);
      flip(buf, 12);
      await writeFile(first, buf);
      const err = await FileEventLog.open(dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isAppError(err) && err.code).toBe('internal');
      // put it back so afterEach can close something
      flip(buf, 12);
      await writeFile(first, buf);
      log = await FileEventLog.open(dir);
    });
  });

  it('rolls segments, reads across them, and deletes whole expired segments (never the active one)', async () => {
    const clock = new FakeClock(1_000_000);
    await reopen({ segmentBytes: 300, clock });
    await log.createTopic('t', { partitions: 1, retentionMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      await log.append('t', [{ key: 'k', value: `value-${String(i).padStart(3, '0')}-${'x'.repeat(40)}` }]);
      clock.advance(10_000);
    }
    const segments = (await readdir(join(dir, 'log', 't', '0'))).filter((n) => n.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(3);
    expect((await readAll('t', 0)).map((m) => Number(m.offset))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // A read stays within one segment: from 7 it may stop before 3 records.
    const window = (await log.read('t', 0, 7, 3)).map((m) => Number(m.offset));
    expect(window.length).toBeGreaterThanOrEqual(1);
    expect(window).toEqual(window.map((_, i) => 7 + i));
    // now = 1_200_000: records appended at < 1_140_000 are expired
    const removed = await log.deleteExpired();
    expect(removed).toBeGreaterThan(0);
    const { low, high } = log.offsets('t', 0);
    expect(high).toBe(20);
    expect(low).toBeGreaterThan(0);
    expect(low).toBeLessThanOrEqual(14);
    const rest = await readAll('t', 0);
    expect(Number(rest[0]!.offset)).toBe(low);
    expect(Number(rest[rest.length - 1]!.offset)).toBe(19);
    clock.advance(10 * 60_000);
    await log.deleteExpired();
    expect(log.offsets('t', 0).high).toBe(20); // the active segment stays
    await reopen({ segmentBytes: 300, clock });
    expect(log.offsets('t', 0)).toEqual({ low: expect.any(Number), high: 20 });
    expect(await log.append('t', [{ key: 'k', value: 'next' }])).toEqual([{ partition: 0, offset: 20 }]);
  });

  describe('consumers', () => {
    it('a tail from the end sees only records appended after it started, without polling delay', async () => {
      await log.createTopic('changes', { partitions: 2 });
      await log.append('changes', [{ key: 'old', value: 'old' }]);
      const got: string[] = [];
      const tail = await log.tail('changes', async (ms) => {
        got.push(...ms.map((m) => m.value!.toString()));
      });
      await log.append('changes', [
        { key: 'a', value: 'new1' },
        { key: 'b', value: 'new2' },
      ]);
      await eventually(() => got.length >= 2, 'new records');
      await tail.stop();
      expect(got.sort()).toEqual(['new1', 'new2']);
      expect(await log.committed('anything', 'changes')).toEqual(new Map());
    });

    it('delivers per partition in order, in batches of at most maxBatch, and reports the assignment', async () => {
      await log.createTopic('t', { partitions: 2 });
      const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
      keys.sort((x, y) => partitionForKey(x, 2) - partitionForKey(y, 2));
      keys.splice(1, keys.length - 2); // one key per partition
      await log.append('t', Array.from({ length: 50 }, (_, i) => ({ key: keys[i % 2]!, value: String(i) })));
      const byPartition = new Map<number, number[]>();
      let largest = 0;
      let assigned: number[] = [];
      const c = await log.consume({
        topic: 't',
        group: 'g',
        fromBeginning: true,
        maxBatch: 7,
        onAssignment: (p) => (assigned = p),
        handler: async (ms, ctx) => {
          largest = Math.max(largest, ms.length);
          const list = byPartition.get(ctx.partition) ?? [];
          list.push(...ms.map((m) => Number(m.offset)));
          byPartition.set(ctx.partition, list);
        },
      });
      await eventually(() => [...byPartition.values()].flat().length >= 50, 'all records');
      await c.stop();
      expect(assigned).toEqual([0, 1]);
      expect(largest).toBeLessThanOrEqual(7);
      for (const [, offsets] of byPartition) expect(offsets).toEqual(offsets.map((_, i) => i));
      expect(byPartition.size).toBe(2);
      expect(c.positions()).toEqual(await log.committed('g', 't'));
    });

    it('allows one running consumer per group and topic; deleteGroup makes it start over', async () => {
      await log.createTopic('t', { partitions: 1 });
      await log.append('t', [{ key: 'k', value: '1' }]);
      let n = 0;
      const c = await log.consume({ topic: 't', group: 'g', fromBeginning: true, handler: async (ms) => void (n += ms.length) });
      await expect(log.consume({ topic: 't', group: 'g', handler: async () => undefined })).rejects.toMatchObject({ code: 'conflict' });
      await expect(log.deleteGroup('g')).rejects.toMatchObject({ code: 'conflict' });
      await eventually(() => n === 1, 'the record');
      await c.stop();
      await log.deleteGroup('g');
      expect(await log.committed('g', 't')).toEqual(new Map());
      const again = await log.consume({ topic: 't', group: 'g', fromBeginning: true, handler: async (ms) => void (n += ms.length) });
      await eventually(() => n === 2, 'the record again');
      await again.stop();
    });

    it('stop waits for the handler in flight and commits its batch', async () => {
      await log.createTopic('t', { partitions: 1 });
      await log.append('t', [{ key: 'k', value: '1' }]);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let started = false;
      const c = await log.consume({
        topic: 't',
        group: 'g',
        fromBeginning: true,
        handler: async () => {
          started = true;
          await gate;
        },
      });
      await eventually(() => started, 'handler start');
      const stopping = c.stop();
      release();
      await stopping;
      expect(await log.committed('g', 't')).toEqual(new Map([[0, 1]]));
    });

    it('close stops running consumers', async () => {
      await log.createTopic('t', { partitions: 1 });
      const c = await log.consume({ topic: 't', group: 'g', handler: async () => undefined });
      await log.close();
      expect(c.isRunning()).toBe(false);
      log = await FileEventLog.open(dir);
    });
  });

  it('refuses a second open of the same directory', async () => {
    await expect(FileEventLog.open(dir)).rejects.toMatchObject({ code: 'conflict' });
  });

  describe('sinks', () => {
    it('EmbeddedEventSink writes events keyed like ingest does, JSON with content-type', async () => {
      await log.createTopic('tinycdp.events', { partitions: 4 });
      const sink = new EmbeddedEventSink(log, 'tinycdp.events');
      const event = {
        type: 'track',
        messageId: 'm1',
        userId: 'user-7',
        anonymousId: 'anon-1',
        event: 'purchase',
        name: null,
        properties: { amount: 5 },
        traits: {},
        context: {},
      } as const;
      await sink.append([{ key: 'user-7', value: event as never }]);
      const p = partitionForKey('user-7', 4);
      const [m] = await readAll('tinycdp.events', p);
      expect(m!.key).toBe('user-7');
      expect(m!.headers['content-type']).toBe('application/json');
      expect(JSON.parse(m!.value!.toString())).toEqual(event);
    });

    it('LogRecordSink appends records with their headers', async () => {
      await log.createTopic('tinycdp.events.dlq', { partitions: 1 });
      await new LogRecordSink(log, 'tinycdp.events.dlq').send([{ key: 'k', value: '{}', headers: { error: 'invalid' } }]);
      const [m] = await readAll('tinycdp.events.dlq', 0);
      expect(m!.headers).toEqual({ 'content-type': 'application/json', error: 'invalid' });
    });
  });
});

describe('EmbeddedEventSink.ping', () => {
  it('resolves while the log is open with the topic, and throws unavailable otherwise', async () => {
    const dir = await tempDir();
    const log = await FileEventLog.open(dir);
    try {
      const sink = new EmbeddedEventSink(log, 'tinycdp.events');
      await expect(sink.ping()).rejects.toMatchObject({ code: 'unavailable' });
      await log.createTopic('tinycdp.events', { partitions: 1 });
      await expect(sink.ping()).resolves.toBeUndefined();
      await log.close();
      await expect(sink.ping()).rejects.toMatchObject({ code: 'unavailable', retriable: true });
    } finally {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
