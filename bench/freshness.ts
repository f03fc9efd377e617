/**
 * Freshness benchmark: with the processor running (segment `pinged` = `events.ping.count_1d >= 1`), a
 * steady open-loop load of single `POST /v1/track` calls (full 200/s, quick 100/s; every call a fresh
 * userId, so its first event enters the segment) goes through the real ingest app. From each 200
 * response the load process (bench/lib/freshness-worker.ts, its own process) measures
 * (a) the profile's state readable in Redis (sampled users, EXISTS every 2 ms) and
 * (b) the `entered` change consumed from the segment-changes topic.
 * Baseline, interleaved in the same run: kafkajs produce (acks = all) → consume echo latency at the same
 * rate, from ack to consumed (one Kafka hop, same consumer settings). Goal: p99 < 250 ms.
 * Ingest and processor share this process (as in the all-in-one `npm start`).
 * Run alone: `npx tsx bench/freshness.ts [--quick]`.
 */
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { systemClock } from '@tinycdp/common';
import { startServer, staticKeyVerifier } from '@tinycdp/http';
import { BatchingProducer } from '@tinycdp/kafka';
import { redisKeys } from '@tinycdp/redis';
import { createIngestApp } from '../services/ingest/src/app';
import { KafkaSink } from '../services/ingest/src/adapters/kafka-sink';
import { forkWorker } from './lib/child';
import { ingestProducer } from './lib/ingest-server';
import type { RunRequest, RunResult, WorkerSetup } from './lib/freshness-worker';
import { publishDefinitions, startProcessor, type StageTimes } from './lib/processor-harness';
import {
  KAFKA_BROKERS,
  REDIS_URL,
  benchKafka,
  createTopics,
  deleteRedisPrefix,
  deleteTopics,
  isolation,
  runStandalone,
  sleep,
  until,
} from './lib/stack';
import { WARMUP, interleaved, percentile, range, round } from './lib/stats';

export interface FreshnessBenchResult {
  rate_per_s: number;
  /** 200 → profile state readable in Redis (sampled users, pooled over repetitions). */
  p50_ms: number;
  p99_ms: number;
  /** kafkajs ack → consumed, same rate (pooled). */
  baseline_p50_ms: number;
  baseline_p99_ms: number;
  /** 200 → `entered` change consumed from the segment-changes topic (pooled). */
  change_p50_ms: number;
  change_p99_ms: number;
  /** Per-repetition p99 min–max. */
  p99_range: [number, number];
  change_p99_range: [number, number];
  baseline_p99_range: [number, number];
  /** /v1/track latency (due → 200), pooled; and the baseline's due → broker ack. */
  ingest_p50_ms: number;
  ingest_p99_ms: number;
  baseline_ack_p99_ms: number;
  samples_state: number;
  samples_change: number;
  samples_baseline: number;
  /** Measured requests whose state / change never showed up within the drain time (5 s). */
  missing_state: number;
  missing_change: number;
  /** Requests that did not get a 200 / broker ack, by status. */
  failed_requests: Record<string, number>;
  /** Where the time goes inside the processor during the measured runs (this process). */
  processor: {
    batches: number;
    mean_batch_size: number;
    /** Mean handler time per batch and mean wait per I/O stage call, ms. */
    mean_batch_ms: number;
    stage_mean_ms: Record<string, number>;
    /** Event-loop delay of the process hosting ingest + processor, ms. */
    loop_delay_p50_ms: number;
    loop_delay_p99_ms: number;
    loop_delay_max_ms: number;
    /** Redis PING round trip from this process every 20 ms during the runs: the floor of one stage. */
    redis_ping_p50_ms: number;
    redis_ping_p99_ms: number;
  };
  reps: number;
  seconds_per_rep: number;
}

const WORKER = fileURLToPath(new URL('./lib/freshness-worker.ts', import.meta.url));
const KEY = 'bench-write-key';

export async function runFreshnessBench(opts: { quick: boolean }): Promise<FreshnessBenchResult> {
  const rate = opts.quick ? 100 : 200;
  const reps = 3;
  // ~10 s (quick) / ~20 s (full) of measured load per side, split over the repetitions.
  const durationMs = opts.quick ? 3_500 : 7_000;
  const warmupMs = 500;
  const drainMs = 5_000;
  const sampleEvery = opts.quick ? 2 : 4;
  const kafka = benchKafka('bench-freshness');
  const iso = isolation('freshness');
  const echoTopic = `${iso.topicPrefix}echo`;
  await createTopics(kafka, iso, 6, [{ topic: echoTopic, numPartitions: 6, replicationFactor: 1 }]);

  const redis = new Redis(REDIS_URL);
  const defsProducer = kafka.producer();
  const eventsProducer = ingestProducer(kafka);
  await Promise.all([defsProducer.connect(), eventsProducer.connect()]);
  let processor: Awaited<ReturnType<typeof startProcessor>> | null = null;
  const batching = new BatchingProducer(eventsProducer);
  const server = await startServer(
    createIngestApp({
      sink: new KafkaSink({ producer: batching, topic: iso.topics.events }),
      keys: staticKeyVerifier([{ secret: KEY, id: 'bench', scope: 'write' }]),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
    }),
    0,
    '127.0.0.1',
  );
  try {
    await publishDefinitions(defsProducer, iso.topics.definitions, [
      { kind: 'segment', key: 'pinged', rule: 'events.ping.count_1d >= 1', version: 1 },
    ]);
    processor = await startProcessor({ kafka, iso, numPartitions: 6 });
    // The processor has joined and is applying once a first event shows up in Redis.
    const res = await fetch(`${server.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ userId: 'warm-0', event: 'ping' }),
    });
    if (res.status !== 200) throw new Error(`ingest warm-up answered ${res.status}`);
    const warmKey = redisKeys(iso.redisPrefix).profile('warm-0');
    await until(async () => (await redis.exists(warmKey)) === 1, 60_000, 'processor applying the warm-up event', 20);

    const worker = await forkWorker<RunRequest, RunResult>(
      WORKER,
      {
        brokers: KAFKA_BROKERS,
        changesTopic: iso.topics.segmentChanges,
        echoTopic,
        groupPrefix: iso.group('observe'),
        port: server.port,
        key: KEY,
        redisUrl: REDIS_URL,
        redisPrefix: iso.redisPrefix,
      } satisfies WorkerSetup,
      (reps * 2 + 2) * (warmupMs + durationMs + drainMs + 5_000) + 60_000,
    );
    let run = 0;
    const req = (mode: 'http' | 'kafka', rep: number): Promise<RunResult> =>
      worker.request({
        cmd: 'run',
        mode,
        runId: `${mode[0]}${run++}`,
        rate,
        warmupMs,
        durationMs: rep === WARMUP ? 1_500 : durationMs,
        drainMs,
        sampleEvery,
      });
    let runs: { a: RunResult[]; b: RunResult[] };
    const before = snapshot(processor.stages, processor.source.handled);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const pings: number[] = [];
    let pinging = true;
    const pinger = (async () => {
      while (pinging) {
        const t = performance.now();
        await redis.ping();
        pings.push(performance.now() - t);
        await sleep(20);
      }
    })();
    try {
      runs = await interleaved(reps, (rep) => req('http', rep), (rep) => req('kafka', rep));
    } finally {
      pinging = false;
      await pinger;
      loop.disable();
      await worker.close();
    }
    const after = snapshot(processor.stages, processor.source.handled);
    const batches = after.stages['handler']!.calls - before.stages['handler']!.calls;
    const stageMean: Record<string, number> = {};
    for (const [k, v] of Object.entries(after.stages)) {
      const calls = v.calls - (before.stages[k]?.calls ?? 0);
      if (calls > 0 && k !== 'handler') stageMean[k] = round((v.ms - (before.stages[k]?.ms ?? 0)) / calls, 2);
    }
    const processorStats = {
      batches,
      mean_batch_size: round((after.handled - before.handled) / Math.max(1, batches), 2),
      mean_batch_ms: round((after.stages['handler']!.ms - before.stages['handler']!.ms) / Math.max(1, batches), 2),
      stage_mean_ms: stageMean,
      loop_delay_p50_ms: round(loop.percentile(50) / 1e6, 1),
      loop_delay_p99_ms: round(loop.percentile(99) / 1e6, 1),
      loop_delay_max_ms: round(loop.max / 1e6, 1),
      redis_ping_p50_ms: round(percentile(pings, 50), 2),
      redis_ping_p99_ms: round(percentile(pings, 99), 1),
    };
    const state = runs.a.flatMap((r) => r.state);
    const change = runs.a.flatMap((r) => r.change);
    const base = runs.b.flatMap((r) => r.change);
    const p99s = (xs: number[][]) => range(xs.map((x) => round(percentile(x, 99), 1))) as [number, number];
    return {
      rate_per_s: rate,
      p50_ms: round(percentile(state, 50), 1),
      p99_ms: round(percentile(state, 99), 1),
      baseline_p50_ms: round(percentile(base, 50), 1),
      baseline_p99_ms: round(percentile(base, 99), 1),
      change_p50_ms: round(percentile(change, 50), 1),
      change_p99_ms: round(percentile(change, 99), 1),
      p99_range: p99s(runs.a.map((r) => r.state)),
      change_p99_range: p99s(runs.a.map((r) => r.change)),
      baseline_p99_range: p99s(runs.b.map((r) => r.change)),
      ingest_p50_ms: round(percentile(runs.a.flatMap((r) => r.ack), 50), 1),
      ingest_p99_ms: round(percentile(runs.a.flatMap((r) => r.ack), 99), 1),
      baseline_ack_p99_ms: round(percentile(runs.b.flatMap((r) => r.ack), 99), 1),
      samples_state: state.length,
      samples_change: change.length,
      samples_baseline: base.length,
      missing_state: runs.a.reduce((n, r) => n + r.missingState, 0),
      missing_change: runs.a.reduce((n, r) => n + r.missingChange, 0),
      failed_requests: failures([...runs.a, ...runs.b]),
      processor: processorStats,
      reps,
      seconds_per_rep: durationMs / 1000,
    };
  } finally {
    await server.close();
    await batching.flush();
    await processor?.stop();
    await Promise.all([defsProducer.disconnect(), eventsProducer.disconnect()]);
    await deleteRedisPrefix(redis, iso.redisPrefix).catch(() => undefined);
    redis.disconnect();
    await deleteTopics(kafka, iso.topicPrefix);
  }
}

runStandalone(import.meta.url, runFreshnessBench);

function snapshot(stages: StageTimes, handled: number): { stages: StageTimes; handled: number } {
  return { stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { ...v }])), handled };
}

function failures(runs: readonly RunResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.failed)) out[k] = (out[k] ?? 0) + v;
  return out;
}
