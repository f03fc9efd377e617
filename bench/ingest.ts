/**
 * Ingest benchmark: events/s through the real ingest app (bench/lib/ingest-server.ts: wired as
 * services/ingest/src/main.ts wires it; in-memory key verifier) via HTTP
 * `POST /v1/batch` into an isolated 6-partition topic on the real broker, vs the floor: raw kafkajs
 * `sendBatch` (same PRODUCER_CONFIG, acks = all) of the same events, same batch size, same concurrency,
 * same run. Closed-loop HTTP load from a child process (bench/lib/http-load.ts), loopback only.
 * Goal: ratio ≥ 0.5.  Run alone: `npx tsx bench/ingest.ts [--quick]`.
 */
import { randomUUID } from 'node:crypto';
import { normalizeMessage, type RawMessage } from '@tinycdp/events';
import { PRODUCER_CONFIG } from '@tinycdp/kafka';
import { mixedMessage, rng } from './lib/events';
import { runLoad, type LoadResult } from './lib/http-load';
import { rawPost } from './lib/http-raw';
import { INGEST_KEY, postBatches, startIngest } from './lib/ingest-server';
import { benchKafka, createTopics, deleteTopics, isolation, runStandalone } from './lib/stack';
import { WARMUP, interleaved, median, range, round } from './lib/stats';

export interface IngestBenchResult {
  /** Events/s accepted (200) by ingest: median of repetitions. */
  events_per_s: number;
  /** Events/s acked by raw kafkajs sendBatch: median of repetitions. */
  baseline_events_per_s: number;
  /** Median of per-repetition ratios ingest / baseline (each pair ran back to back). Goal ≥ 0.5. */
  ratio: number;
  ratio_range: [number, number];
  events_per_s_range: [number, number];
  baseline_range: [number, number];
  /** /v1/batch request latency at max throughput (median over repetitions). */
  request_p50_ms: number;
  request_p99_ms: number;
  batch_size: number;
  concurrency: number;
  reps: number;
  seconds_per_rep: number;
  event_bytes: number;
}

const BATCH = 100;
const CONCURRENCY = 8;
const BODIES = 16;

export async function runIngestBench(opts: { quick: boolean }): Promise<IngestBenchResult> {
  const reps = opts.quick ? 3 : 5;
  const warmupMs = opts.quick ? 500 : 1_000;
  const measuredMs = opts.quick ? 2_500 : 6_000;
  const warmupDurationMs = 1_000;
  const kafka = benchKafka('bench-ingest');
  const iso = isolation('ingest');
  await createTopics(kafka, iso, 6);
  const topic = iso.topics.events;

  // The same events for both sides: 16 bodies of 100 messages (no messageId: ingest assigns one).
  const rnd = rng(11);
  const now = Date.now();
  const bodies: Record<string, unknown>[][] = [];
  for (let b = 0; b < BODIES; b++) {
    const items: Record<string, unknown>[] = [];
    for (let i = 0; i < BATCH; i++) {
      const userId = `u${Math.floor(rnd() * 5_000)}`;
      items.push(mixedMessage(rnd, userId, now - Math.floor(rnd() * 86_400_000)));
    }
    bodies.push(items);
  }
  const requests = bodies.map((items) => rawPost('/v1/batch', JSON.stringify({ batch: items }), { Authorization: `Bearer ${INGEST_KEY}` }));
  // What ingest writes for them: the normalized event as JSON, key userId.
  const baselineBatches = bodies.map((items) =>
    items.map((m) => {
      const e = normalizeMessage(m as unknown as RawMessage, { receivedAt: now, newId: randomUUID });
      return { key: e.userId!, value: JSON.stringify(e), headers: { 'content-type': 'application/json' } };
    }),
  );
  const eventBytes = Math.round(median(baselineBatches.flat().map((m) => m.value.length)));

  const rawProducer = kafka.producer(PRODUCER_CONFIG);
  await rawProducer.connect();
  const server = await startIngest(kafka, topic);

  try {
    // Sanity: one request is fully accepted.
    await postBatches(server, bodies[0]!, BATCH, 1);

    const viaIngest = async (rep: number): Promise<{ eps: number; load: LoadResult }> => {
      const durationMs = rep === WARMUP ? warmupDurationMs : measuredMs;
      const load = await runLoad({
        host: '127.0.0.1',
        port: server.port,
        requests,
        mode: 'closed',
        concurrency: CONCURRENCY,
        rate: 0,
        warmupMs,
        durationMs,
        maxConnections: CONCURRENCY,
      });
      if (load.non2xx > 0 || load.errors > 0) throw new Error(`ingest: ${load.non2xx} non-2xx, ${load.errors} errors`);
      return { eps: (load.completed * BATCH) / (durationMs / 1000), load };
    };

    // Same accounting as the load worker: sends started after the warm-up and finished inside the window.
    const viaKafka = async (rep: number): Promise<number> => {
      const durationMs = rep === WARMUP ? warmupDurationMs : measuredMs;
      const t0 = performance.now();
      const from = t0 + warmupMs;
      const end = from + durationMs;
      let done = 0;
      let next = 0;
      const loop = async () => {
        while (performance.now() < end) {
          const started = performance.now();
          await rawProducer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: baselineBatches[next++ % BODIES]! }] });
          if (started >= from && performance.now() <= end) done += BATCH;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, loop));
      return done / (durationMs / 1000);
    };

    const runs = await interleaved(reps, viaIngest, viaKafka);
    const ingest = runs.a.map((r) => r.eps);
    const base = runs.b;
    const ratios = ingest.map((x, i) => x / base[i]!);
    return {
      events_per_s: Math.round(median(ingest)),
      baseline_events_per_s: Math.round(median(base)),
      ratio: round(median(ratios), 3),
      ratio_range: range(ratios).map((x) => round(x, 3)) as [number, number],
      events_per_s_range: range(ingest).map(Math.round) as [number, number],
      baseline_range: range(base).map(Math.round) as [number, number],
      request_p50_ms: round(median(runs.a.map((r) => r.load.p50_ms))),
      request_p99_ms: round(median(runs.a.map((r) => r.load.p99_ms))),
      batch_size: BATCH,
      concurrency: CONCURRENCY,
      reps,
      seconds_per_rep: measuredMs / 1000,
      event_bytes: eventBytes,
    };
  } finally {
    await server.close();
    await rawProducer.disconnect();
    await deleteTopics(kafka, iso.topicPrefix);
  }
}

runStandalone(import.meta.url, runIngestBench);
