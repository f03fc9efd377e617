/**
 * Pipeline benchmark: N events (full 100k over 2,000 users, quick 20k over 400: 50 per user; the seed definitions) sent through
 * the real ingest gateway (POST /v1/batch, 100 per request, untimed: ingest has its own scenario) into
 * an isolated 6-partition events topic; then, per repetition with a fresh consumer group and a fresh
 * Redis key prefix, over exactly those messages:
 * - the real processor (createProcessor wired as in main.ts, bench/lib/processor-harness.ts): time from
 *   the group's assignment (before the first fetch) to the handler finishing the last event (state,
 *   changes durable): the fetches are part of the time, as in a catch-up over a backlog; then checked
 *   against the group's committed offsets == high watermark;
 * - baseline: a raw kafkajs consume-only loop (same consumer config, eachBatch counting messages) over
 *   the same messages, assignment → last message. (Timing from the first batch instead would leave
 *   the fetches out: with fetches of tens of MB the raw loop's time would be mostly decoding.)
 * Goal: ratio ≥ 0.35. Scale-out (no goal): the same events through 1 and through 2 processor instances,
 * one process each (bench/lib/pipeline-worker.ts), warmed up, holding their share of the partitions
 * before any event is handled; reported as events/s and the 2-to-1 speedup.
 * One extra, untimed processor run under the in-process CPU profiler writes
 * bench/results/pipeline.cpuprofile and bench/results/pipeline-profile.md (top self-time functions,
 * time per area, I/O stage times, CPU per process).
 * Run alone: `npx tsx bench/pipeline.ts [--quick]`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { processorConsumerConfig } from '@tinycdp/kafka';
import { forkWorker, type IpcWorker } from './lib/child';
import { cpuMeter, type CpuReport } from './lib/cpu';
import { mixedWorkload } from './lib/events';
import { postBatches, startIngest } from './lib/ingest-server';
import type { PipelineWorkerProgress, PipelineWorkerRequest, PipelineWorkerSetup } from './lib/pipeline-worker';
import { publishDefinitions, seedDefinitions, startProcessor, type StageTimes } from './lib/processor-harness';
import { inclusiveTimes, profileMarkdown, startCpuProfile, summarizeProfile, type ProfileSummary } from './lib/profile';
import { resultsDir } from './lib/report';
import {
  REDIS_URL,
  benchKafka,
  createTopics,
  deleteRedisPrefix,
  deleteTopics,
  groupProgress,
  isolation,
  runStandalone,
  sleep,
  until,
  withAdmin,
  type Isolation,
} from './lib/stack';
import { interleaved, median, range, round } from './lib/stats';

export interface PipelineBenchResult {
  events: number;
  users: number;
  /** Processor events/s, group assignment → last event applied (median of repetitions). */
  events_per_s: number;
  /** Raw kafkajs consume-only events/s over the same messages (median). */
  baseline_events_per_s: number;
  /** Median of per-repetition ratios (goal ≥ 0.35). */
  ratio: number;
  ratio_range: [number, number];
  events_per_s_range: [number, number];
  baseline_range: [number, number];
  reps: number;
  /** Start → group assignment, ms (median), processor and baseline: not part of the rates above. */
  startup_ms: number;
  baseline_startup_ms: number;
  /**
   * Group assignment → first batch in hand, ms (median), processor and baseline: the first fetch (the
   * broker's transfer and kafkajs decoding it), part of both rates. The raw loop's run is mostly this.
   */
  first_batch_ms: number;
  baseline_first_batch_ms: number;
  /** I/O stages summed over handler calls of the last timed repetition, as % of handler time. */
  stages_pct: Record<string, number>;
  /** CPU per process during the last timed processor repetition. */
  cpu: CpuReport | null;
  /**
   * CPU time of the bench process (the processor under test) per event, µs, in the last timed
   * repetition: steadier than rates on a shared machine, and independent of how the raw baseline's
   * fetch rounds fall.
   */
  cpu_us_per_event: number | null;
  /** Areas of the profiled run (top 6), % of busy main-thread time. */
  profile_areas: { area: string; self_pct: number }[];
  profile_file: string;
  /** The same events through 1 and through 2 processor instances (one process each) in one group. */
  scale_out: ScaleOutResult;
}

/**
 * Processor instances sharing the partitions (how the processor scales: more instances in its consumer
 * group). Each instance is a process of its own, started and given its partitions before any event is
 * handled; events/s from their release to the last event applied by all.
 */
export interface ScaleOutResult {
  /** Median events/s per instance count, e.g. {"1": 40000, "2": 65000}. */
  events_per_s: Record<string, number>;
  events_per_s_range: Record<string, [number, number]>;
  /** 2 instances / 1 instance, median of paired repetitions. */
  speedup: number;
  /** 2 instances against the single raw consume-only loop above (not the goal's like-for-like ratio). */
  ratio_vs_raw: number;
  /** CPU seconds per event summed over the instances, µs (median). */
  cpu_us_per_event: Record<string, number>;
  /** Largest peak RSS of one instance process over the repetitions, MB (fetch buffers, decoded batches). */
  max_rss_mb: Record<string, number>;
  reps: number;
}

/**
 * Events per user (full: 100,000 events over 2,000 users): the quick run keeps the workload's shape —
 * 20,000 events over 400 users — so per-profile work weighs the same in both.
 */
const EVENTS_PER_USER = 50;
const usersFor = (events: number) => Math.max(1, Math.round(events / EVENTS_PER_USER));
/** Processor stages whose inclusive CPU the profile report lists (names as they appear in the profile). */
const STAGE_FUNCTIONS = [
  'processEachBatch',
  'handle',
  'processBatch',
  'decodeMessage',
  'decodeMessageWith',
  'validateMessage',
  'normalizeMessage',
  'routeToProfiles',
  'updateProfiles',
  'load@libs/redis',
  'decodeProfile',
  'mergeProfiles',
  'applyEvents',
  'evaluateProfile',
  'cloneProfile',
  'encodeProfile',
  'encodedFieldsDiff',
  'write@libs/redis',
  'send@processor/src/consumer',
  'ackPending@libs/redis',
  'schedule@libs/redis',
  'sendBatch@kafkajs',
  'sendCommand@ioredis',
  '(garbage collector)',
];
const PARTITIONS = 6;
const DAY = 86_400_000;

export async function consumeOnly(kafka: Kafka, iso: Isolation, n: number): Promise<{ eps: number; startupMs: number; firstBatchMs: number }> {
  const consumer = kafka.consumer(processorConsumerConfig(iso.group('raw')));
  const t0 = performance.now();
  let joined = 0;
  let first = 0;
  let count = 0;
  let resolveDone!: (t: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (joined === 0) joined = performance.now();
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: iso.topics.events, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        count += batch.messages.length;
        if (count >= n) resolveDone(performance.now());
      },
    });
    const timeout = sleep(120_000).then(() => {
      throw new Error(`baseline consumed ${count} of ${n} messages within 120 s`);
    });
    const end = await Promise.race([done, timeout]);
    return { eps: n / ((end - joined) / 1000), startupMs: joined - t0, firstBatchMs: first - joined };
  } finally {
    await consumer.disconnect();
  }
}

export interface ProcessorRun {
  spanMs: number;
  calls: { start: number; end: number; messages: number }[];
  eps: number;
  startupMs: number;
  firstBatchMs: number;
  stages: StageTimes;
  cpu: CpuReport | null;
}

export async function processorRun(kafka: Kafka, iso: Isolation, n: number, rep: string, redis: Redis, profile?: (stop: boolean) => Promise<void>): Promise<ProcessorRun> {
  const redisPrefix = `${iso.redisPrefix}${rep}:`;
  const t0 = performance.now();
  if (profile) await profile(false);
  const running = await startProcessor({ kafka, iso, numPartitions: PARTITIONS, redisPrefix });
  let meter: (() => CpuReport) | null = null;
  const startMeter = setInterval(() => {
    if (running.source.joinedAt !== 0 && meter === null) meter = cpuMeter();
  }, 5);
  try {
    await running.source.reached(n, 300_000);
    const cpu = meter === null ? null : (meter as () => CpuReport)();
    if (profile) await profile(true);
    const { joinedAt, firstAt, lastAt } = running.source;
    // The offsets of the last batch are committed right after the handler resolved.
    await withAdmin(kafka, (admin) =>
      until(async () => {
        const p = await groupProgress(admin, running.groupId, iso.topics.events);
        return p.committed >= p.high;
      }, 30_000, 'processor offsets committed up to the high watermark', 50),
    );
    return { spanMs: lastAt - firstAt, calls: running.source.calls, eps: n / ((lastAt - joinedAt) / 1000), startupMs: joinedAt - t0, firstBatchMs: firstAt - joinedAt, stages: running.stages, cpu };
  } finally {
    clearInterval(startMeter);
    await running.stop();
    await deleteRedisPrefix(redis, redisPrefix);
  }
}

/** Writes the events into `topic` the way clients do: POST /v1/batch to the real ingest gateway (untimed). */
export async function throughIngest(kafka: Kafka, topic: string, messages: readonly { value: Record<string, unknown> }[]): Promise<void> {
  const ingest = await startIngest(kafka, topic);
  try {
    await postBatches(ingest, messages.map((m) => m.value));
  } finally {
    await ingest.close();
  }
}

const WORKER_FILE = new URL('./lib/pipeline-worker.ts', import.meta.url).pathname;

interface ScaleOutRun {
  eps: number;
  cpuS: number;
  maxRssMb: number;
}

/**
 * `instances` processor processes in one fresh group over the pre-loaded topic: started, every one
 * holding its share of the partitions, then released at once; timed from the release to the
 * last event applied by all, then checked against the group's committed offsets.
 */
async function scaleOutRun(
  kafka: Kafka,
  iso: Isolation,
  n: number,
  instances: number,
  rep: string,
  redis: Redis,
  warmup: PipelineWorkerSetup['warmup'],
): Promise<ScaleOutRun> {
  const setup: PipelineWorkerSetup = {
    topicPrefix: iso.topicPrefix,
    groupId: iso.group(`scale${instances}`),
    redisPrefix: `${iso.redisPrefix}${rep}:`,
    numPartitions: PARTITIONS,
    warmup,
  };
  const workers: IpcWorker<PipelineWorkerRequest, unknown>[] = [];
  try {
    const forked = await Promise.allSettled(Array.from({ length: instances }, () => forkWorker<PipelineWorkerRequest, unknown>(WORKER_FILE, setup, 300_000)));
    for (const w of forked) if (w.status === 'fulfilled') workers.push(w.value); // closed below even if another failed
    for (const w of forked) if (w.status === 'rejected') throw w.reason;
    const share = PARTITIONS / instances;
    await until(async () => {
      const held = (await Promise.all(workers.map((w) => w.request({ cmd: 'assigned' })))) as number[][];
      return held.every((p) => p.length === share) && new Set(held.flat()).size === PARTITIONS;
    }, 60_000, `${instances} processor instances holding ${share} partitions each`, 50);
    const released = Date.now();
    await Promise.all(workers.map((w) => w.request({ cmd: 'go' })));
    let progress: PipelineWorkerProgress[] = [];
    await until(async () => {
      progress = (await Promise.all(workers.map((w) => w.request({ cmd: 'progress' })))) as PipelineWorkerProgress[];
      return progress.reduce((s, p) => s + p.handled, 0) >= n;
    }, 300_000, `${instances} processor instances applying ${n} events`, 20);
    const last = Math.max(...progress.map((p) => p.lastAt));
    await withAdmin(kafka, (admin) =>
      until(async () => {
        const p = await groupProgress(admin, setup.groupId, iso.topics.events);
        return p.committed >= p.high;
      }, 30_000, 'scale-out offsets committed up to the high watermark', 50),
    );
    return {
      eps: n / ((last - released) / 1000),
      cpuS: progress.reduce((s, p) => s + p.cpuS, 0),
      maxRssMb: Math.max(...progress.map((p) => p.maxRssMb)),
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await deleteRedisPrefix(redis, setup.redisPrefix);
  }
}

async function scaleOut(kafka: Kafka, iso: Isolation, n: number, reps: number, rawEps: number, redis: Redis, producer: Producer): Promise<ScaleOutResult> {
  // Every instance first runs alone over these (its own group), so no timed run measures cold code.
  const warmIso = isolation('pipeline-warmup');
  const warmup = { topicPrefix: warmIso.topicPrefix, events: n };
  try {
    await createTopics(kafka, warmIso, PARTITIONS);
    await publishDefinitions(producer, warmIso.topics.definitions, seedDefinitions());
    await throughIngest(kafka, warmIso.topics.events, mixedWorkload(warmup.events, usersFor(warmup.events), Date.now(), 14 * DAY, 'plw-', 11));
    let rep = 0;
    const runs = await interleaved(
      reps,
      () => scaleOutRun(kafka, iso, n, 1, `s1-${rep++}`, redis, warmup),
      () => scaleOutRun(kafka, iso, n, 2, `s2-${rep++}`, redis, warmup),
      { warmup: false }, // each instance warms up in its own process before it is timed
    );
    return scaleOutResult(runs, n, reps, rawEps);
  } finally {
    await deleteTopics(kafka, warmIso.topicPrefix);
  }
}

function scaleOutResult(runs: { a: ScaleOutRun[]; b: ScaleOutRun[] }, n: number, reps: number, rawEps: number): ScaleOutResult {
  const eps = { '1': runs.a.map((r) => r.eps), '2': runs.b.map((r) => r.eps) };
  const cpu = (rs: ScaleOutRun[]) => round(median(rs.map((r) => (r.cpuS * 1e6) / n)), 1);
  const rss = (rs: ScaleOutRun[]) => Math.round(Math.max(...rs.map((r) => r.maxRssMb)));
  return {
    events_per_s: { '1': Math.round(median(eps['1'])), '2': Math.round(median(eps['2'])) },
    events_per_s_range: { '1': range(eps['1']).map(Math.round) as [number, number], '2': range(eps['2']).map(Math.round) as [number, number] },
    speedup: round(median(eps['2'].map((x, i) => x / eps['1'][i]!)), 2),
    ratio_vs_raw: round(median(eps['2']) / rawEps, 3),
    cpu_us_per_event: { '1': cpu(runs.a), '2': cpu(runs.b) },
    max_rss_mb: { '1': rss(runs.a), '2': rss(runs.b) },
    reps,
  };
}

export async function runPipelineBench(opts: { quick: boolean }): Promise<PipelineBenchResult> {
  const n = opts.quick ? 20_000 : 100_000;
  const reps = opts.quick ? 3 : 5;
  const kafka = benchKafka('bench-pipeline');
  const iso = isolation('pipeline');
  const redis = new Redis(REDIS_URL);
  const producer = kafka.producer();
  try {
    await createTopics(kafka, iso, PARTITIONS);
    await producer.connect();
    await publishDefinitions(producer, iso.topics.definitions, seedDefinitions());
    await throughIngest(kafka, iso.topics.events, mixedWorkload(n, usersFor(n), Date.now(), 14 * DAY, 'pl-'));
    const high = await withAdmin(kafka, (admin) => groupProgress(admin, 'none', iso.topics.events));
    if (high.high !== n) throw new Error(`pre-loaded ${high.high} events, expected ${n}`);
    cpuMeter(); // looks up the broker and Redis pids now, not during a timed run

    let rep = 0;
    const runs = await interleaved(
      reps,
      () => processorRun(kafka, iso, n, `r${rep++}`, redis),
      () => consumeOnly(kafka, iso, n),
    );
    const proc = runs.a.map((r) => r.eps);
    const base = runs.b.map((r) => r.eps);
    const ratios = proc.map((x, i) => x / base[i]!);
    const last = runs.a[runs.a.length - 1]!;

    // Profiled run (not timed): where the processor's main thread spends its time.
    let stopProfile: (() => Promise<import('./lib/profile').CpuProfile>) | null = null;
    let summary: ProfileSummary | null = null;
    let inclusive: ReturnType<typeof inclusiveTimes> = [];
    const profiled = await processorRun(kafka, iso, n, 'prof', redis, async (stop) => {
      if (!stop) stopProfile = await startCpuProfile();
      else if (stopProfile) {
        const p = await stopProfile();
        mkdirSync(resultsDir(), { recursive: true });
        writeFileSync(`${resultsDir()}/pipeline.cpuprofile`, JSON.stringify(p));
        summary = summarizeProfile(p, 15);
        inclusive = inclusiveTimes(p, STAGE_FUNCTIONS);
      }
    });
    const stagesPct = stagePercents(last.stages);
    if (summary) {
      writeFileSync(
        `${resultsDir()}/pipeline-profile.md`,
        profileMarkdown(`Processor CPU profile — ${n.toLocaleString('en-US')} events, ${usersFor(n)} users, ${PARTITIONS} partitions`, summary, [
          `Recorded ${new Date().toISOString()} by \`npm run bench${opts.quick ? ' -- --quick' : ''}\` (bench/pipeline.ts): one untimed processor run`,
          `over the pre-loaded topic, main thread sampled every 0.5 ms with node:inspector (open \`pipeline.cpuprofile\` in Chrome DevTools / speedscope).`,
          `Rate under the profiler: ${Math.round(profiled.eps)} events/s (timed runs: median ${Math.round(median(proc))}; raw consume ${Math.round(median(base))}).`,
          '',
          '## I/O stages (last timed run)',
          '',
          'Wall time spent awaiting each port, summed over handler calls (batches of up to 8 partitions overlap, and writes of',
          'one chunk run concurrently, so a stage can exceed 100% of handler time):',
          '',
          '| stage | calls | summed ms | mean ms per call | % of handler time |',
          '|---|---:|---:|---:|---:|',
          ...Object.entries(last.stages)
            .filter(([, s]) => s.calls > 0)
            .map(([k, s]) => `| ${k} | ${s.calls} | ${Math.round(s.ms)} | ${round(s.ms / s.calls, 2)} | ${stagesPct[k] ?? ''} |`),
          '',
          '## CPU per process (last timed run, group assignment → last event)',
          '',
          '| process | CPU s | cores |',
          '|---|---:|---:|',
          ...Object.entries(last.cpu?.processes ?? {}).map(([k, v]) => `| ${k} | ${v.cpu_s} | ${v.cores} |`),
          `| (wall) | ${last.cpu?.wall_s ?? ''} | of 2 |`,
        ], inclusive),
      );
    }
    const scale = await scaleOut(kafka, iso, n, opts.quick ? 1 : 3, median(base), redis, producer);
    const areas = (summary as ProfileSummary | null)?.areas ?? [];
    return {
      events: n,
      users: usersFor(n),
      events_per_s: Math.round(median(proc)),
      baseline_events_per_s: Math.round(median(base)),
      ratio: round(median(ratios), 3),
      ratio_range: range(ratios).map((x) => round(x, 3)) as [number, number],
      events_per_s_range: range(proc).map(Math.round) as [number, number],
      baseline_range: range(base).map(Math.round) as [number, number],
      reps,
      startup_ms: Math.round(median(runs.a.map((r) => r.startupMs))),
      baseline_startup_ms: Math.round(median(runs.b.map((r) => r.startupMs))),
      first_batch_ms: Math.round(median(runs.a.map((r) => r.firstBatchMs))),
      baseline_first_batch_ms: Math.round(median(runs.b.map((r) => r.firstBatchMs))),
      stages_pct: stagesPct,
      cpu: last.cpu,
      cpu_us_per_event: cpuPerEvent(last.cpu, n),
      profile_areas: areas.slice(0, 6).map((a) => ({ area: a.area, self_pct: a.self_pct })),
      profile_file: 'bench/results/pipeline.cpuprofile',
      scale_out: scale,
    };
  } finally {
    await producer.disconnect();
    await deleteRedisPrefix(redis, iso.redisPrefix).catch(() => undefined);
    redis.disconnect();
    await deleteTopics(kafka, iso.topicPrefix);
  }
}

function cpuPerEvent(cpu: CpuReport | null, n: number): number | null {
  const s = cpu?.processes['bench process (code under test)']?.cpu_s;
  return s === undefined ? null : round((s * 1e6) / n, 1);
}

function stagePercents(stages: StageTimes): Record<string, number> {
  const handler = stages['handler']?.ms || 1;
  const out: Record<string, number> = {};
  for (const [k, s] of Object.entries(stages)) if (s.calls > 0 && k !== 'handler') out[k] = round((s.ms / handler) * 100, 1);
  return out;
}

runStandalone(import.meta.url, runPipelineBench);
