/**
 * A thin test adapter giving real Kafka (via kafkajs) the ContractLog surface, so the event-log
 * contract runs unchanged against Kafka and the FileEventLog. Test-only: it favours clarity over speed
 * (every readAll joins a throw-away consumer group).
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import { partitionForKey } from '@tinycdp/kafka';
import type { AppendRecord, AppendResult } from '../file-event-log';
import type { LogRecord } from '../log-consumer';
import type { ContractLog } from './event-log.contract';

function headersOf(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? String(v[0]) : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

export class KafkaEventLog implements ContractLog {
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private admin: Admin | null = null;
  private readonly consumers = new Set<Consumer>();
  private readonly partitionCounts = new Map<string, number>();

  constructor(brokers: string[]) {
    this.kafka = new Kafka({ clientId: `tinycdp-contract-${randomUUID().slice(0, 8)}`, brokers, logLevel: logLevel.NOTHING });
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    await (await this.getAdmin()).createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
    this.partitionCounts.set(topic, partitions);
  }

  async append(topic: string, records: readonly AppendRecord[]): Promise<AppendResult[]> {
    const n = await this.partitions(topic);
    const producer = await this.getProducer();
    const meta = await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => {
        if (r.key === null) throw new Error('KafkaEventLog: keyed records only');
        return { key: r.key, value: r.value, headers: { ...r.headers }, ...(r.partition !== undefined ? { partition: r.partition } : {}) };
      }),
    });
    // kafkajs reports one base offset per partition; records of one partition keep their order in the batch.
    const base = new Map(meta.map((m) => [m.partition, Number(m.baseOffset)]));
    const next = new Map<number, number>();
    return records.map((r) => {
      const partition = r.partition ?? partitionForKey(r.key!, n);
      const i = next.get(partition) ?? 0;
      next.set(partition, i + 1);
      const b = base.get(partition);
      if (b === undefined) throw new Error(`kafka acked no batch on partition ${partition}`);
      return { partition, offset: b + i };
    });
  }

  async readAll(topic: string, partition: number, fromOffset: number): Promise<LogRecord[]> {
    const offsets = await (await this.getAdmin()).fetchTopicOffsets(topic);
    const high = Number(offsets.find((o) => o.partition === partition)?.high ?? 0);
    if (fromOffset >= high) return [];
    const out: LogRecord[] = [];
    const consumer = this.kafka.consumer({ groupId: `read-${randomUUID()}`, maxWaitTimeInMs: 50 });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic, partition, offset: String(fromOffset) }));
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== partition) return;
          for (const m of batch.messages) {
            if (Number(m.offset) < fromOffset || Number(m.offset) >= high) continue;
            if (out.length > 0 && Number(m.offset) <= Number(out[out.length - 1]!.offset)) continue;
            out.push({
              partition,
              offset: m.offset,
              key: m.key === null ? null : m.key.toString('utf8'),
              value: m.value,
              timestamp: m.timestamp,
              headers: headersOf(m.headers as Record<string, unknown>),
            });
          }
          if (out.length > 0 && Number(out[out.length - 1]!.offset) >= high - 1) done();
        },
      });
      await Promise.race([
        finished,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`readAll ${topic}/${partition} timed out`)), 30_000)),
      ]);
    } finally {
      await consumer.disconnect();
    }
    return out;
  }

  async consume(opts: {
    group: string;
    topic: string;
    fromBeginning: boolean;
    handler: (messages: LogRecord[], partition: number) => Promise<void>;
  }): Promise<{ stop(): Promise<void> }> {
    const consumer = this.kafka.consumer({
      groupId: opts.group,
      maxWaitTimeInMs: 50,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.consumers.add(consumer);
    const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()));
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning });
    // The processor's shape: handle a batch, then commit its offsets (commit only after the handler resolved).
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        await opts.handler(
          batch.messages.map((m) => ({
            partition: batch.partition,
            offset: m.offset,
            key: m.key === null ? null : m.key.toString('utf8'),
            value: m.value,
            timestamp: m.timestamp,
            headers: headersOf(m.headers as Record<string, unknown>),
          })),
          batch.partition,
        );
        const last = batch.messages[batch.messages.length - 1]!;
        await consumer.commitOffsets([{ topic: opts.topic, partition: batch.partition, offset: String(Number(last.offset) + 1) }]);
      },
    });
    await joined;
    return {
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async committed(group: string, topic: string): Promise<Map<number, number>> {
    const res = await (await this.getAdmin()).fetchOffsets({ groupId: group, topics: [topic] });
    const out = new Map<number, number>();
    for (const p of res[0]?.partitions ?? []) if (Number(p.offset) >= 0) out.set(p.partition, Number(p.offset));
    return out;
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await (await this.getAdmin()).deleteTopics({ topics }).catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => undefined)));
    this.consumers.clear();
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.producer = null;
    this.admin = null;
  }

  private async partitions(topic: string): Promise<number> {
    let n = this.partitionCounts.get(topic);
    if (n === undefined) {
      const meta = await (await this.getAdmin()).fetchTopicMetadata({ topics: [topic] });
      n = meta.topics[0]?.partitions.length ?? 0;
      this.partitionCounts.set(topic, n);
    }
    return n;
  }

  private async getProducer(): Promise<Producer> {
    if (!this.producer) {
      const p = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await p.connect();
      this.producer = p;
    }
    return this.producer;
  }

  private async getAdmin(): Promise<Admin> {
    if (!this.admin) {
      const a = this.kafka.admin();
      await a.connect();
      this.admin = a;
    }
    return this.admin;
  }
}
