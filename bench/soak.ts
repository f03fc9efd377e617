/**
 * Soak benchmark (issue 7): every service up against the real Kafka and Redis, a steady open-loop load
 * for a bounded time (full 180 s, quick 30 s, after a warm-up of 20 s / 10 s), and the figures that must
 * stay flat:
 * - ingest (this process, as in bench/freshness.ts): `POST /v1/batch` of 20 events at a constant rate
 *   (1,000 events/s; 2,000 users; purchases, app opens, identifies);
 * - decide in its own process, as deployed (bench/lib/soak-decide.ts, wired as its main.ts): `GET
 *   /v1/decide` for those users at a constant rate (200 req/s), reading what the processor writes;
 * - the processor in its own process (bench/lib/soak-processor.ts, wired as its main.ts: epoch guard,
 *   bounded DLQ, definitions copy, membership index, rollout), sampled every second over IPC: RSS,
 *   live heap (heapUsed right after a forced full GC, which pauses only that process) and consumer lag;
 * - the two load generators in their own processes (bench/lib/http-load.ts, open loop: latency
 *   counts from when a request was due, so a stall cannot hide).
 * After the load, the processor must drain to lag 0 (bounded wait).
 *
 * Budgets (bench/lib/report.ts marks them): ingest p99 < 250 ms (the pipeline's freshness budget),
 * decide p99 < 5 ms (decide's budget; on this box decide shares two cores with everything else),
 * lag 0 after the load and at most 5 s of traffic at any sample, live-heap slope < 1 MB/min over the
 * measured window (least squares over the per-second samples after the warm-up), 0 errors (non-2xx,
 * broken connections, decide answers with reason ERROR, DLQ records).
 * Run alone: `npx tsx bench/soak.ts [--quick]` (prints JSON).
 */
import os from 'node:os';
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
import { forkWorker, type IpcWorker } from './lib/child';
import type { SoakDecideSetup, SoakDecideStats } from './lib/soak-decide';
import { rawGet, runLoad, type LoadResult } from './lib/http-load';
import { ingestProducer } from './lib/ingest-server';
import { rawPost } from './lib/http-raw';
import { publishDefinitions, seedDefinitions } from './lib/processor-harness';
import type { SoakProcessorSample, SoakProcessorSetup } from './lib/soak-processor';
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
import { median, round } from './lib/stats';

export interface SoakBenchResult {
  /** Measured window (after the warm-up). */
  duration_s: number;
  warmup_s: number;
  /** Events/s offered to ingest (`ingest_rps` requests of `batch_size` events). */
  rate_per_s: number;
  batch_size: number;
  ingest_rps: number;
  /** Decide requests/s offered. */
  decide_rps: number;
  /** What was actually answered per second in the window (below the offered rate: the box could not keep up). */
  ingest_achieved_rps: number;
  decide_achieved_rps: number;
  /** Due → answer, ms, over the window. */
  ingest_p50_ms: number;
  ingest_p99_ms: number;
  ingest_max_ms: number;
  decide_p50_ms: number;
  decide_p99_ms: number;
  decide_max_ms: number;
  /** Processor consumer lag (events): max and median over the window's samples, at the end of the load, and after draining. */
  lag_max: number;
  lag_median: number;
  /** lag_max in seconds of traffic (lag_max / rate_per_s); budget ≤ 5. */
  lag_max_s: number;
  lag_end_of_load: number;
  lag_final: number;
  /** End of the load → lag 0 (null if it did not drain within 60 s). */
  drain_s: number | null;
  /** Processor live heap (after GC) and RSS: medians of the first / last 5 samples of the window; slopes by least squares over the window. */
  heap_start_mb: number;
  heap_end_mb: number;
  heap_slope_mb_per_min: number;
  heap_max_mb: number;
  rss_start_mb: number;
  rss_end_mb: number;
  rss_slope_mb_per_min: number;
  /** Budget of heap_slope_mb_per_min. */
  heap_slope_budget_mb_per_min: number;
  /** Every failure: ingest + decide non-2xx and broken connections, decide ERROR answers, DLQ records. Must be 0. */
  errors: number;
  error_detail: {
    ingest_non2xx: number;
    ingest_errors: number;
    decide_non2xx: number;
    decide_errors: number;
    decide_error_answers: number;
    dlq: number;
  };
  /** Events acknowledged to the generator (2xx answers seen × batch size, warm-up included) and log messages the processor
   *  finished over the run: processed ≥ acked after draining (requests cut off at the very end may be in the log unacknowledged). */
  events_acked: number;
  events_processed: number;
  /** Requests that waited for a free connection (a sign of saturation). */
  ingest_queued: number;
  decide_queued: number;
  /** Forced GC pause in the processor per sample (median / max), ms. */
  gc_p50_ms: number;
  gc_max_ms: number;
  /** Event-loop delay of this process (ingest), ms. */
  host_loop_delay_p99_ms: number;
  host_loop_delay_max_ms: number;
  /** Event-loop delay of the decide process, ms. */
  decide_loop_delay_p99_ms: number;
  decide_loop_delay_max_ms: number;
  samples: number;
  users: number;
  /** 1-minute load average at the start and the end of the load (the box is shared: read the latencies with it). */
  loadavg: [number, number];
  /** Every 10 s of the window: processor live heap, RSS (MB) and lag (events). */
  every_10s: { heap_mb: number[]; rss_mb: number[]; lag: number[] };
}

const PROCESSOR = fileURLToPath(new URL('./lib/soak-processor.ts', import.meta.url));
const DECIDE = fileURLToPath(new URL('./lib/soak-decide.ts', import.meta.url));
const WRITE_KEY = 'bench-soak-write';
const READ_KEY = 'bench-soak-read';
const USERS = 2_000;
const BATCH = 20;
const EVENTS_PER_S = 1_000;
const DECIDE_RPS = 200;
const PARTITIONS = 6;
const TEMPLATES = 200;
const HEAP_SLOPE_BUDGET = 1;
const DRAIN_MS = 60_000;

/** Batches of `BATCH` events over `USERS` users: mostly app opens, a third purchases, some identifies. No messageId: ingest assigns one, so repeated bodies are new events. */
function ingestRequests(): string[] {
  const out: string[] = [];
  let n = 0;
  for (let r = 0; r < TEMPLATES; r++) {
    const batch = Array.from({ length: BATCH }, () => {
      const i = n++;
      const userId = `u${(i * 7919) % USERS}`;
      if (i % 25 === 0) return { type: 'identify', userId, traits: { plan: i % 3 === 0 ? 'premium' : 'free' } };
      if (i % 3 === 0) return { type: 'track', userId, event: 'purchase', properties: { amount: 20 + (i % 180) } };
      return { type: 'track', userId, event: 'app_open' };
    });
    out.push(rawPost('/v1/batch', JSON.stringify({ batch }), { Authorization: `Bearer ${WRITE_KEY}` }));
  }
  return out;
}

function decideRequests(): string[] {
  return Array.from({ length: USERS }, (_, i) => rawGet(`/v1/decide?userId=u${(i * 31) % USERS}&flag=premium_features`, { Authorization: `Bearer ${READ_KEY}` }));
}

/** Least-squares slope of y over t (seconds), per minute. */
export function slopePerMinute(points: readonly { t: number; y: number }[]): number {
  if (points.length < 2) return NaN;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 60;
}

export async function runSoakBench(opts: { quick: boolean }): Promise<SoakBenchResult> {
  const durationMs = opts.quick ? 30_000 : 180_000;
  const warmupMs = opts.quick ? 10_000 : 20_000;
  const ingestRps = EVENTS_PER_S / BATCH;
  const kafka = benchKafka('bench-soak');
  const iso = isolation('soak');
  await createTopics(kafka, iso, PARTITIONS);
  const keys = redisKeys(iso.redisPrefix);

  const redis = new Redis(REDIS_URL);
  const defsProducer = kafka.producer();
  const eventsProducer = ingestProducer(kafka);
  await Promise.all([defsProducer.connect(), eventsProducer.connect()]);
  const batching = new BatchingProducer(eventsProducer);
  let worker: IpcWorker<{ cmd: 'sample' }, SoakProcessorSample> | null = null;
  let decide: IpcWorker<{ cmd: 'stats' }, SoakDecideStats> | null = null;
  const ingest = await startServer(
    createIngestApp({
      sink: new KafkaSink({ producer: batching, topic: iso.topics.events }),
      keys: staticKeyVerifier([{ secret: WRITE_KEY, id: 'bench', scope: 'write' }]),
      clock: systemClock,
      logger: pino({ level: 'silent' }),
    }),
    0,
    '127.0.0.1',
  );
  try {
    const defs = seedDefinitions();
    await publishDefinitions(defsProducer, iso.topics.definitions, defs);
    worker = await forkWorker<{ cmd: 'sample' }, SoakProcessorSample>(
      PROCESSOR,
      {
        brokers: KAFKA_BROKERS,
        topics: iso.topics,
        groupId: iso.group('processor'),
        redisUrl: REDIS_URL,
        redisPrefix: iso.redisPrefix,
        numPartitions: PARTITIONS,
      } satisfies SoakProcessorSetup,
      warmupMs + durationMs + DRAIN_MS + 180_000,
    );
    // Decide reads the definitions the processor copies into Redis.
    await until(async () => (await redis.hlen(keys.definitions())) >= defs.length, 60_000, 'definitions copied into Redis', 100);
    decide = await forkWorker<{ cmd: 'stats' }, SoakDecideStats>(
      DECIDE,
      { redisUrl: REDIS_URL, redisPrefix: iso.redisPrefix, readKey: READ_KEY, port: 0 } satisfies SoakDecideSetup,
      warmupMs + durationMs + DRAIN_MS + 180_000,
    );
    const decidePort = (await decide.request({ cmd: 'stats' })).port;

    // The processor has joined and applies events once a first one shows up in Redis.
    const res = await fetch(`${ingest.url}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify({ userId: 'warm-0', event: 'app_open' }),
    });
    if (res.status !== 200) throw new Error(`ingest warm-up answered ${res.status}`);
    await until(async () => (await redis.exists(keys.profile('warm-0'))) === 1, 60_000, 'processor applying the warm-up event', 50);
    const probe = await fetch(`http://127.0.0.1:${decidePort}/v1/decide?userId=warm-0&flag=premium_features`, { headers: { authorization: `Bearer ${READ_KEY}` } });
    if (probe.status !== 200) throw new Error(`decide warm-up answered ${probe.status}`);
    await probe.arrayBuffer();

    // Per-second samples of the processor from the start of the load until it drained.
    const samples: (SoakProcessorSample & { t: number })[] = [];
    let sampling = true;
    let samplerError: unknown = null;
    const w = worker;
    const t0 = performance.timeOrigin + performance.now();
    const sampler = (async () => {
      for (let i = 0; sampling; i++) {
        const wait = t0 + i * 1_000 - (performance.timeOrigin + performance.now());
        if (wait > 0) await sleep(wait);
        else if (wait < -1_000) continue; // a slow sample: skip the slots it overran
        if (!sampling) break;
        const s = await w.request({ cmd: 'sample' });
        samples.push({ ...s, t: (s.at - t0) / 1_000 });
      }
    })().catch((err: unknown) => {
      samplerError = err;
    });
    const loadStart = os.loadavg()[0]!;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const load = (port: number, requests: string[], rate: number) =>
      runLoad({ host: '127.0.0.1', port, requests, mode: 'open', concurrency: 8, rate, warmupMs, durationMs, maxConnections: 128 });
    let ingestLoad: LoadResult;
    let decideLoad: LoadResult;
    let lagEndOfLoad = NaN;
    let drainS: number | null = null;
    let loadEnd = NaN;
    try {
      [ingestLoad, decideLoad] = await Promise.all([load(ingest.port, ingestRequests(), ingestRps), load(decidePort, decideRequests(), DECIDE_RPS)]);
      loop.disable();
      loadEnd = os.loadavg()[0]!;
      const loadEnded = performance.timeOrigin + performance.now();
      lagEndOfLoad = samples.at(-1)?.lag ?? NaN;
      // Drain: the sampler keeps going; wait for a lag-0 sample taken after the load ended.
      const deadline = loadEnded + DRAIN_MS;
      while (performance.timeOrigin + performance.now() < deadline) {
        const last = samples.at(-1);
        if (last && last.at > loadEnded && last.lag === 0) {
          drainS = round((last.at - loadEnded) / 1_000, 1);
          break;
        }
        await sleep(100);
      }
    } finally {
      sampling = false;
      loop.disable();
      await sampler;
    }
    if (samplerError) throw new Error(`sampling the processor failed: ${(samplerError as Error).message}`, { cause: samplerError });

    const from = warmupMs / 1_000;
    const to = (warmupMs + durationMs) / 1_000;
    const window = samples.filter((s) => s.t >= from && s.t <= to);
    if (window.length < 5) throw new Error(`only ${window.length} processor samples in the measured window`);
    const first = window.slice(0, 5);
    const last = window.slice(-5);
    const lags = window.map((s) => s.lag);
    const final = samples.at(-1)!;
    const answered = Math.max(0, ingestLoad.total - ingestLoad.non2xx - ingestLoad.errors);
    const decideStats = await decide.request({ cmd: 'stats' });
    const decideErrors = decideStats.errorAnswers;
    const errorDetail = {
      ingest_non2xx: ingestLoad.non2xx,
      ingest_errors: ingestLoad.errors,
      decide_non2xx: decideLoad.non2xx,
      decide_errors: decideLoad.errors,
      decide_error_answers: decideErrors,
      dlq: final.dlq,
    };
    const every10 = window.filter((_, i) => i % 10 === 0);
    const gcs = samples.map((s) => s.gcMs);
    return {
      duration_s: durationMs / 1_000,
      warmup_s: warmupMs / 1_000,
      rate_per_s: EVENTS_PER_S,
      batch_size: BATCH,
      ingest_rps: ingestRps,
      decide_rps: DECIDE_RPS,
      ingest_achieved_rps: ingestLoad.rps,
      decide_achieved_rps: decideLoad.rps,
      ingest_p50_ms: round(ingestLoad.p50_ms, 1),
      ingest_p99_ms: round(ingestLoad.p99_ms, 1),
      ingest_max_ms: round(ingestLoad.max_ms, 1),
      decide_p50_ms: round(decideLoad.p50_ms, 2),
      decide_p99_ms: round(decideLoad.p99_ms, 2),
      decide_max_ms: round(decideLoad.max_ms, 1),
      lag_max: Math.max(...lags),
      lag_median: median(lags),
      lag_max_s: round(Math.max(...lags) / EVENTS_PER_S, 2),
      lag_end_of_load: lagEndOfLoad,
      lag_final: final.lag,
      drain_s: drainS,
      heap_start_mb: round(median(first.map((s) => s.heapMb)), 1),
      heap_end_mb: round(median(last.map((s) => s.heapMb)), 1),
      heap_slope_mb_per_min: round(slopePerMinute(window.map((s) => ({ t: s.t, y: s.heapMb }))), 2),
      heap_max_mb: round(Math.max(...window.map((s) => s.heapMb)), 1),
      rss_start_mb: round(median(first.map((s) => s.rssMb)), 1),
      rss_end_mb: round(median(last.map((s) => s.rssMb)), 1),
      rss_slope_mb_per_min: round(slopePerMinute(window.map((s) => ({ t: s.t, y: s.rssMb }))), 2),
      heap_slope_budget_mb_per_min: HEAP_SLOPE_BUDGET,
      errors: Object.values(errorDetail).reduce((s, x) => s + x, 0),
      error_detail: errorDetail,
      events_acked: answered * BATCH + 1, // + the warm-up track
      events_processed: final.messages,
      ingest_queued: ingestLoad.queued,
      decide_queued: decideLoad.queued,
      gc_p50_ms: round(median(gcs), 1),
      gc_max_ms: round(Math.max(...gcs), 1),
      host_loop_delay_p99_ms: round(loop.percentile(99) / 1e6, 1),
      host_loop_delay_max_ms: round(loop.max / 1e6, 1),
      decide_loop_delay_p99_ms: round(decideStats.loopDelayP99Ms, 1),
      decide_loop_delay_max_ms: round(decideStats.loopDelayMaxMs, 1),
      samples: samples.length,
      users: USERS,
      loadavg: [round(loadStart, 2), round(loadEnd, 2)],
      every_10s: {
        heap_mb: every10.map((s) => round(s.heapMb, 1)),
        rss_mb: every10.map((s) => round(s.rssMb, 0)),
        lag: every10.map((s) => s.lag),
      },
    };
  } finally {
    await decide?.close().catch(() => undefined);
    await ingest.close();
    await batching.flush().catch(() => undefined);
    await worker?.close();
    await Promise.all([defsProducer.disconnect(), eventsProducer.disconnect()]).catch(() => undefined);
    await deleteRedisPrefix(redis, iso.redisPrefix).catch(() => undefined);
    redis.disconnect();
    await deleteTopics(kafka, iso.topicPrefix);
  }
}

runStandalone(import.meta.url, runSoakBench);
