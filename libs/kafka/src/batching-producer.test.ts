import { describe, expect, it } from 'vitest';
import type { Producer, ProducerBatch, RecordMetadata } from 'kafkajs';
import { isAppError } from '@tinycdp/common';
import { BatchingProducer } from './batching-producer';

/** A stand-in for the kafkajs Producer's sendBatch only: records calls, acks when told. */
class FakeProducer {
  calls: ProducerBatch[] = [];
  private pending: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  auto = true;
  fail: Error | undefined;
  sendBatch = (batch: ProducerBatch): Promise<RecordMetadata[]> => {
    this.calls.push(batch);
    if (this.fail) return Promise.reject(this.fail);
    if (this.auto) return new Promise((r) => setTimeout(() => r([]), 1));
    return new Promise((resolve, reject) => this.pending.push({ resolve: () => resolve([]), reject }));
  };
  ackAll(): void {
    const p = this.pending;
    this.pending = [];
    for (const x of p) x.resolve();
  }
  get asProducer(): Producer {
    return this as unknown as Producer;
  }
}

const rec = (key: string, value = 'v') => ({ key, value });
const flushMicrotasks = () => new Promise((r) => setTimeout(r, 0));

describe('BatchingProducer', () => {
  it('coalesces concurrent calls into one sendBatch with acks=all, grouped by topic', async () => {
    const fake = new FakeProducer();
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 5 });
    await Promise.all([
      bp.send('t1', [rec('a'), rec('b')]),
      bp.send('t2', [rec('c')]),
      bp.send('t1', [{ key: 'd', value: Buffer.from('x'), headers: { 'content-type': 'application/json' } }]),
    ]);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]?.acks).toBe(-1);
    expect(fake.calls[0]?.topicMessages).toEqual([
      { topic: 't1', messages: [{ key: 'a', value: 'v' }, { key: 'b', value: 'v' }, { key: 'd', value: Buffer.from('x'), headers: { 'content-type': 'application/json' } }] },
      { topic: 't2', messages: [{ key: 'c', value: 'v' }] },
    ]);
  });

  it('resolves only after the broker acked', async () => {
    const fake = new FakeProducer();
    fake.auto = false;
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 1 });
    let done = false;
    const p = bp.send('t', [rec('a')]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.calls).toHaveLength(1);
    expect(done).toBe(false);
    fake.ackAll();
    await p;
    expect(done).toBe(true);
  });

  it('rejects every caller of a failed batch with a retriable unavailable AppError carrying the cause', async () => {
    const fake = new FakeProducer();
    const cause = new Error('Connection error: ECONNREFUSED');
    fake.fail = cause;
    const bp = new BatchingProducer(fake.asProducer);
    const results = await Promise.allSettled([bp.send('t', [rec('a')]), bp.send('t', [rec('b')])]);
    expect(fake.calls).toHaveLength(1);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason;
      expect(isAppError(err) && err.code === 'unavailable' && err.retriable && err.cause === cause).toBe(true);
      expect(err.message).toMatch(/ECONNREFUSED/);
    }
  });

  it('splits at maxBatchRecords without splitting a caller, and keeps order', async () => {
    const fake = new FakeProducer();
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 5, maxBatchRecords: 3, maxInFlightBatches: 4 });
    await Promise.all([bp.send('t', [rec('1'), rec('2')]), bp.send('t', [rec('3'), rec('4')]), bp.send('t', [rec('5')]), bp.send('t', [rec('6'), rec('7'), rec('8'), rec('9')])]);
    const keys = fake.calls.map((c) => c.topicMessages?.flatMap((t) => t.messages.map((m) => m.key)));
    expect(keys).toEqual([['1', '2'], ['3', '4', '5'], ['6', '7', '8', '9']]);
  });

  it('splits at maxBatchBytes', async () => {
    const fake = new FakeProducer();
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 5, maxBatchBytes: 100, maxInFlightBatches: 4 });
    await Promise.all([bp.send('t', [rec('a', 'x'.repeat(60))]), bp.send('t', [rec('b', 'x'.repeat(60))])]);
    expect(fake.calls).toHaveLength(2);
  });

  it('splits a single call above maxBatchBytes into in-order parts within the limits; resolves when all are acked', async () => {
    const fake = new FakeProducer();
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 1, maxBatchBytes: 250 });
    const records = Array.from({ length: 10 }, (_, i) => rec(String(i), 'x'.repeat(60)));
    await bp.send('t', records);
    const keys = fake.calls.map((c) => c.topicMessages?.flatMap((t) => t.messages.map((m) => m.key)));
    expect(keys.flat()).toEqual(records.map((r) => r.key));
    expect(keys.length).toBeGreaterThan(1);
    for (const k of keys) expect(k!.length).toBeLessThanOrEqual(3); // 3 × ~77 bytes fit in 250
  });

  it('refuses a call at once while maxQueuedBytes are waiting, and takes calls again once the queue drained', async () => {
    const fake = new FakeProducer();
    fake.auto = false;
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 1, maxQueuedBytes: 300 });
    const inFlight = bp.send('t', [rec('a', 'x'.repeat(200))]);
    await new Promise((r) => setTimeout(r, 10)); // dispatched: in flight, no longer queued
    const queued = bp.send('t', [rec('b', 'x'.repeat(200))]);
    const refused = await bp.send('t', [rec('c', 'x'.repeat(200))]).catch((e: unknown) => e);
    expect(isAppError(refused) && refused.code === 'unavailable' && refused.retriable).toBe(true);
    expect((refused as Error).message).toMatch(/not keeping up/);
    expect(fake.calls.flatMap((c) => c.topicMessages!.flatMap((t) => t.messages.map((m) => m.key)))).toEqual(['a']);
    fake.ackAll();
    await inFlight;
    await new Promise((r) => setTimeout(r, 10));
    fake.ackAll();
    await queued;
    fake.auto = true;
    await bp.send('t', [rec('d', 'x'.repeat(200))]);
    expect(fake.calls.flatMap((c) => c.topicMessages!.flatMap((t) => t.messages.map((m) => m.key)))).toEqual(['a', 'b', 'd']);
  });

  it('with one batch in flight, accumulates the next calls and sends them together on ack', async () => {
    const fake = new FakeProducer();
    fake.auto = false;
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 1 });
    const first = bp.send('t', [rec('a')]);
    await new Promise((r) => setTimeout(r, 10));
    const rest = [bp.send('t', [rec('b')]), bp.send('t', [rec('c')]), bp.send('t', [rec('d')])];
    await new Promise((r) => setTimeout(r, 10));
    expect(fake.calls).toHaveLength(1);
    expect(bp.pendingRecords).toBe(3);
    fake.ackAll();
    await first;
    await flushMicrotasks();
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1]?.topicMessages?.[0]?.messages.map((m) => m.key)).toEqual(['b', 'c', 'd']);
    fake.ackAll();
    await Promise.all(rest);
  });

  it('flush sends immediately and waits for in-flight batches; empty sends resolve at once', async () => {
    const fake = new FakeProducer();
    const bp = new BatchingProducer(fake.asProducer, { lingerMs: 10_000 });
    await bp.send('t', []);
    const p = bp.send('t', [rec('a')]);
    await bp.flush();
    await p;
    expect(fake.calls).toHaveLength(1);
    await bp.flush();
  });
});
