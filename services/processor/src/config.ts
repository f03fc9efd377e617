import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { DEFAULT_FETCH_MB } from '@tinycdp/kafka';

/** Most Kafka threads one processor runs (TINYCDP_FETCH_THREAD=<n>). */
export const MAX_FETCH_THREADS = 16;

/** TINYCDP_FETCH_THREAD's values (also read by the all-in-one `tinycdp start` with KAFKA_BROKERS): see `fetchThreads`. */
export const fetchThreadSetting = z
  .string()
  .regex(/^(auto|true|false|yes|no|on|off|[0-9]|1[0-6])$/i, { message: `must be auto, true, false or a number of threads up to ${MAX_FETCH_THREADS}` });

/** Processor configuration: parsed once at start-up; every problem reported at once; frozen. */
const schema = z.object({
  KAFKA_BROKERS: z.string().min(1, 'KAFKA_BROKERS is required for the processor (comma-separated host:port)'),
  REDIS_URL: z.string().url('REDIS_URL must be a redis:// URL'),
  TINYCDP_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default('tinycdp.'),
  TINYCDP_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]*$/).default('tinycdp:'),
  TINYCDP_PROCESSOR_GROUP: z.string().min(1).default('tinycdp-processor'),
  /** Partitions of the topics created at start-up if missing; existing topics keep theirs. */
  TINYCDP_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(6),
  /** Replication factor of the topics it creates: use 3 on a real cluster (1 suits a single broker). */
  TINYCDP_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).default(1),
  TINYCDP_SCHEDULE_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Kafka group session timeout; lower values move partitions of a dead instance sooner. */
  TINYCDP_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  /**
   * Most MiB one fetch of the events topic reads (a partition up to a third of it). Larger fetches write
   * each profile once per more events while catching up a backlog; smaller ones bound the memory then.
   */
  TINYCDP_FETCH_MB: z.coerce.number().int().min(1).max(512).default(DEFAULT_FETCH_MB),
  /**
   * Run the Kafka client (consume events, produce segment changes) on threads of its own, fetching
   * ahead of the pipeline: `auto` (default) runs AUTO_FETCH_THREADS when the machine has at least
   * FETCH_THREAD_MIN_CORES cores, none below; `true` one, `false` none, a number that many.
   */
  TINYCDP_FETCH_THREAD: fetchThreadSetting.default('auto'),
  /** Events read from the log per backfill chunk (one checkpoint per chunk). */
  TINYCDP_BACKFILL_CHUNK: z.coerce.number().int().min(10).max(100_000).default(2000),
  /** Profiles re-evaluated per rollout batch (one checkpoint per batch). */
  TINYCDP_ROLLOUT_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Confluent-compatible schema registry API root (e.g. http://host:8081, Apicurio: …/apis/ccompat/v7). */
  SCHEMA_REGISTRY_URL: z.string().url('SCHEMA_REGISTRY_URL must be an http(s) URL').optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(4002),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ProcessorConfig = Readonly<z.infer<typeof schema>>;

/**
 * Cores from which `auto` puts the Kafka client on threads of its own. Measured (bench/pipeline-ab.ts,
 * four interleaved pairs, each run a fresh process warmed by one run first) on a 2-vCPU VM that also
 * runs Kafka and Redis: time from first batch to last event 1.89 s against 2.39 s in-thread (medians),
 * the pipeline thread's CPU halved (1.15 s against 2.28 s). On one core a thread only competes with the
 * pipeline for it.
 */
export const FETCH_THREAD_MIN_CORES = 2;

/**
 * Kafka threads `auto` runs from FETCH_THREAD_MIN_CORES cores. Measured as above over a 6-partition
 * backlog of 100,000 events: two threads (three partitions each) decode the first fetch in parallel —
 * first batch 0.69 s against 0.87 s, first batch to last event 0.90× of one thread's, events/s +12%
 * (three interleaved pairs; +6% in a second set of three). The price is memory (each thread holds a
 * decoded fetch: peak RSS ~900 MB against ~650–700 MB in the bench). More than two were not measured
 * (the VM has two cores).
 */
export const AUTO_FETCH_THREADS = 2;

/** How many Kafka threads the processor runs (TINYCDP_FETCH_THREAD); 0: its Kafka client runs on the pipeline thread. */
export function fetchThreads(setting: string | undefined, cores = availableParallelism()): number {
  const v = (setting ?? 'auto').toLowerCase();
  if (v === 'auto') return cores >= FETCH_THREAD_MIN_CORES ? AUTO_FETCH_THREADS : 0;
  if (['true', 'yes', 'on'].includes(v)) return 1;
  if (['false', 'no', 'off'].includes(v)) return 0;
  const n = /^[0-9]{1,2}$/.test(v) ? Number(v) : NaN;
  if (!(n <= MAX_FETCH_THREADS)) throw new Error(`TINYCDP_FETCH_THREAD: ${setting} is not auto, true, false or 0–${MAX_FETCH_THREADS}`);
  return n;
}

export function parseConfig(env: Record<string, string | undefined>): ProcessorConfig {
  const r = schema.safeParse(env);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid processor configuration:\n${problems}`);
  }
  return Object.freeze(r.data);
}
