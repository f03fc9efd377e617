/**
 * Freshness load generator and observer, run in its own process by bench/freshness.ts (so its CPU is
 * not the processor's). Started once with fork() and driven over IPC: it joins its observer consumer
 * groups once, then runs the repetitions the parent asks for, one at a time. Open loop at a constant
 * rate; every request uses a fresh id. Loopback only.
 *
 * - mode `http`: POST /v1/track `{userId, event: "ping"}` to ingest. From each 200 response it measures
 *   (a) for every `sampleEvery`-th user, when the profile hash appears in Redis (EXISTS every 2 ms) and
 *   (b) for every user, when its `entered` change is consumed from the segment-changes topic.
 * - mode `kafka` (baseline): kafkajs `send` of one similar record per tick (acks = all, ingest's producer
 *   config) to an echo topic, measuring ack → consumed by a consumer with the same settings.
 *
 * Protocol: argv[2] = WorkerSetup JSON; parent sends RunRequest messages, the worker answers each with
 * a RunResult (or {error}); `{cmd: 'exit'}` ends it. Every run is bounded (duration + drain).
 */
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { Agent, request } from 'node:http';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Redis } from 'ioredis';
import { PRODUCER_CONFIG, processorConsumerConfig } from '@tinycdp/kafka';
import { redisKeys } from '@tinycdp/redis';
import { serveParent, workerMain } from './child';

export interface WorkerSetup {
  readonly brokers: readonly string[];
  readonly changesTopic: string;
  readonly echoTopic: string;
  readonly groupPrefix: string;
  readonly port: number;
  readonly key: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
}

export interface RunRequest {
  readonly cmd: 'run';
  readonly mode: 'http' | 'kafka';
  readonly runId: string;
  readonly rate: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly drainMs: number;
  readonly sampleEvery: number;
}

export interface RunResult {
  readonly sent: number;
  readonly acked: number;
  /** Failed requests by HTTP status (or "error"). */
  readonly failed: Record<string, number>;
  /** ms from the 200 (or broker ack) to the state appearing in Redis (http mode, sampled users). */
  readonly state: number[];
  /** ms from the 200 (or broker ack) to the change/echo consumed. */
  readonly change: number[];
  readonly missingState: number;
  readonly missingChange: number;
  /** ms from when the request was due to its 200/ack. */
  readonly ack: number[];
}

const epochMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Pending {
  ackAt: number;
  sampled: boolean;
  stateAt: number;
  changeAt: number;
}

class Observer {
  /** Keyed by message key; a run registers its ids here. */
  readonly pending = new Map<string, Pending>();
  readonly early = new Map<string, number>();
  private consumer: Consumer | null = null;

  async start(kafka: Kafka, topic: string, groupId: string, onlyEntered: boolean): Promise<void> {
    const consumer = kafka.consumer(processorConsumerConfig(groupId));
    this.consumer = consumer;
    let joined!: () => void;
    const joinedP = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const at = epochMs();
        const key = message.key?.toString('utf8') ?? '';
        if (onlyEntered) {
          const v = JSON.parse(message.value?.toString('utf8') ?? '{}') as { status?: string };
          if (v.status !== 'entered') return;
        }
        const p = this.pending.get(key);
        if (p) {
          if (p.changeAt === 0) p.changeAt = at;
        } else this.early.set(key, at);
      },
    });
    await Promise.race([joinedP, sleep(30_000).then(() => Promise.reject(new Error(`observer of ${topic} did not join in 30 s`)))]);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

async function main(setup: WorkerSetup): Promise<void> {
  for (const b of setup.brokers) if (!/^(127\.0\.0\.1|localhost):/.test(b)) throw new Error('loopback only');
  const kafka = new Kafka({ clientId: 'bench-freshness-worker', brokers: [...setup.brokers], logLevel: logLevel.NOTHING });
  const changes = new Observer();
  const echo = new Observer();
  await Promise.all([
    changes.start(kafka, setup.changesTopic, `${setup.groupPrefix}-changes`, true),
    echo.start(kafka, setup.echoTopic, `${setup.groupPrefix}-echo`, false),
  ]);
  const redis = new Redis(setup.redisUrl);
  const keys = redisKeys(setup.redisPrefix);
  const producer = kafka.producer(PRODUCER_CONFIG);
  await producer.connect();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  // Warm the observers' first fetch, the producer and the HTTP connection pool.
  await producer.send({ topic: setup.echoTopic, acks: -1, messages: [{ key: 'warm', value: '{}' }] });
  await sleep(300);

  const run = async (r: RunRequest): Promise<RunResult> => {
    const obs = r.mode === 'http' ? changes : echo;
    let sent = 0;
    let acked = 0;
    const failed: Record<string, number> = {};
    const fail = (why: string) => (failed[why] = (failed[why] ?? 0) + 1);
    const ackLat: number[] = [];
    const measured: string[] = [];
    const polls: Promise<void>[] = [];

    const pollState = async (id: string, p: Pending, deadline: number) => {
      const key = keys.profile(id);
      while (epochMs() < deadline) {
        if ((await redis.exists(key)) === 1) {
          p.stateAt = epochMs();
          return;
        }
        await sleep(2);
      }
    };

    const onAck = (id: string, dueAt: number, inWindow: boolean, sampled: boolean) => {
      const ackAt = epochMs();
      acked++;
      if (!inWindow) return;
      ackLat.push(ackAt - dueAt);
      const p: Pending = { ackAt, sampled, stateAt: 0, changeAt: obs.early.get(id) ?? 0 };
      obs.early.delete(id);
      obs.pending.set(id, p);
      measured.push(id);
      if (sampled) polls.push(pollState(id, p, ackAt + r.drainMs + 2_000));
    };

    const fire = (i: number, dueAt: number, inWindow: boolean) => {
      const id = `${r.runId}-${i}`;
      sent++;
      if (r.mode === 'kafka') {
        const value = JSON.stringify({ type: 'track', userId: id, event: 'ping', messageId: `${id}-m`, timestamp: new Date().toISOString() });
        producer.send({ topic: setup.echoTopic, acks: -1, messages: [{ key: id, value, headers: { 'content-type': 'application/json' } }] }).then(
          () => onAck(id, dueAt, inWindow, false),
          (e: { type?: string }) => fail(e.type ?? 'error'),
        );
        return;
      }
      const sampled = i % r.sampleEvery === 0;
      const body = JSON.stringify({ userId: id, event: 'ping', properties: {} });
      const req = request(
        {
          host: '127.0.0.1',
          port: setup.port,
          method: 'POST',
          path: '/v1/track',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${setup.key}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) onAck(id, dueAt, inWindow, sampled);
            else fail(String(res.statusCode));
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? 'error'));
      req.end(body);
    };

    // Open loop: request i is due at t0 + i / rate, whatever the answers.
    const t0 = epochMs();
    const end = t0 + r.warmupMs + r.durationMs;
    const interval = 1000 / r.rate;
    let i = 0;
    while (epochMs() < end) {
      const now = epochMs();
      while (t0 + i * interval <= now) {
        const dueAt = t0 + i * interval;
        fire(i, dueAt, dueAt >= t0 + r.warmupMs);
        i++;
      }
      await sleep(1);
    }

    // Drain: wait for the stragglers, bounded.
    const drainEnd = epochMs() + r.drainMs;
    const outstanding = () => {
      let n = 0;
      for (const f of Object.values(failed)) n += f;
      if (acked + n < sent) return true;
      return measured.some((id) => {
        const p = obs.pending.get(id)!;
        return p.changeAt === 0 || (p.sampled && p.stateAt === 0);
      });
    };
    while (epochMs() < drainEnd && outstanding()) await sleep(20);
    await Promise.race([Promise.all(polls), sleep(2_500)]);

    const state: number[] = [];
    const change: number[] = [];
    let missingState = 0;
    let missingChange = 0;
    for (const id of measured) {
      const p = obs.pending.get(id)!;
      obs.pending.delete(id);
      if (p.changeAt > 0) change.push(p.changeAt - p.ackAt);
      else missingChange++;
      if (p.sampled) {
        if (p.stateAt > 0) state.push(p.stateAt - p.ackAt);
        else missingState++;
      }
    }
    obs.early.clear();
    return { sent, acked, failed, state, change, missingState, missingChange, ack: ackLat };
  };

  serveParent<RunRequest>(run, async () => {
    agent.destroy();
    await producer.disconnect().catch(() => undefined);
    await Promise.all([changes.stop(), echo.stop()]).catch(() => undefined);
    redis.disconnect();
    process.exit(0);
  });
}

workerMain('freshness-worker.ts', main);
