/**
 * Schema registry benchmark: pipeline events/s of the real processor (bench/lib/processor-harness.ts,
 * wired as main.ts with SCHEMA_REGISTRY_URL) over the same workload (bench/lib/events.ts mixedWorkload:
 * full 100k, quick 20k events; 2,000 users; the seed definitions) pre-loaded three ways, each in its own
 * isolated 6-partition topic, runs interleaved (fresh group + Redis prefix per run):
 * - `json`: plain JSON values (no registry involved, the default path);
 * - `wire`: Confluent wire format under TinyCDP's registered events schema id — what ingest writes with
 *   a registry; the processor parses the payload and validates it once (validateMessage);
 * - `wire_validated`: wire format under a direct producer's own JSON Schema id (a copy of the events
 *   schema under another subject): the registry client's validation runs on top of validateMessage.
 * Segment changes are written in the wire format in both wire variants (as main.ts does).
 * Goal: wire / json ≥ 0.8. Run alone: `npx tsx bench/registry.ts [--quick]` (SCHEMA_REGISTRY_URL, else
 * scripts/registry.sh start — stopped again afterwards when this run started it). When no registry can
 * be had (no Java 21+, Maven fetch failed, SCHEMA_REGISTRY_URL not answering) the scenario throws
 * ScenarioNotRun: bench/run.ts reports "not run: <why>", not an error.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { SchemaRegistryRest, connectSchemaRegistry, wireEncoder, wireRecordSink, type RecordProducer, type TopicSchemaRegistry, type ValueEncoder } from '@tinycdp/kafka';
import eventsSchema from '../schemas/events.value.schema.json' with { type: 'json' };
import { decodeMessageWith } from '../services/processor/src/pipeline/decode';
import type { LogMessage } from '../services/processor/src/ports';
import { mixedWorkload, type Message } from './lib/events';
import { ScenarioNotRun } from './lib/not-run';
import { publishDefinitions, seedDefinitions, startProcessor } from './lib/processor-harness';
import { REDIS_URL, REPO_DIR, benchKafka, createTopics, deleteRedisPrefix, deleteTopics, isolation, runStandalone, type Isolation } from './lib/stack';
import { median, range, round } from './lib/stats';

export interface RegistryBenchResult {
  events: number;
  users: number;
  reps: number;
  /** Median processor events/s, first batch → last event applied. */
  json_events_per_s: number;
  wire_events_per_s: number;
  wire_validated_events_per_s: number;
  /** Median of per-round ratios wire / json (goal ≥ 0.8) and wire_validated / json. */
  ratio: number;
  ratio_range: [number, number];
  validated_ratio: number;
  validated_ratio_range: [number, number];
  /** Bytes per value on the topic (mean): plain JSON vs wire format (5 more). */
  json_value_bytes: number;
  wire_value_bytes: number;
  /** CPU only, in process: µs per message for value decode + validateMessage + normalize (best of 5 passes). */
  decode_us: Record<Variant, number>;
  registry_url: string;
}

const USERS = 2_000;
const PARTITIONS = 6;
const DAY = 86_400_000;
const VARIANTS = ['json', 'wire', 'wire_validated'] as const;
type Variant = (typeof VARIANTS)[number];

/** GET <url>/subjects answers 200: a Confluent-compatible registry API root. */
async function registryAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/subjects`, { signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * SCHEMA_REGISTRY_URL when set, else the local Apicurio of scripts/registry.sh (started when not
 * running; `stop` stops it again only in that case).
 * @throws ScenarioNotRun naming why no registry is available.
 */
async function obtainRegistry(): Promise<{ url: string; stop: () => void }> {
  const env = process.env.SCHEMA_REGISTRY_URL?.trim();
  if (env) {
    if (!(await registryAnswers(env))) throw new ScenarioNotRun(`SCHEMA_REGISTRY_URL=${env} is set but GET /subjects does not answer 200`);
    return { url: env, stop: () => {} };
  }
  const sh = (cmd: string, timeout: number) => spawnSync('bash', ['scripts/registry.sh', cmd], { cwd: REPO_DIR, encoding: 'utf8', timeout });
  const wasRunning = sh('status', 30_000).status === 0;
  const r = sh('start', 300_000);
  process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/^(?=.)/gm, 'bench registry: '));
  if (r.status !== 0) {
    const lines = (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('----'));
    const why = lines.filter((l) => l.includes('error:')).pop() ?? lines.pop() ?? r.error?.message ?? `exit ${r.status ?? r.signal}`;
    throw new ScenarioNotRun(`no schema registry: scripts/registry.sh start failed (${why.replace(/^registry: (error: )?/, '').trim()})`);
  }
  const url = sh('url', 30_000).stdout.trim();
  if (!url) throw new Error('scripts/registry.sh url printed nothing');
  const stop = () => {
    if (wasRunning) return;
    const s = sh('stop', 60_000);
    process.stderr.write(`${s.stdout ?? ''}${s.stderr ?? ''}`.replace(/^(?=.)/gm, 'bench registry: '));
  };
  return { url, stop };
}

async function preloadEncoded(producer: Producer, topic: string, messages: readonly Message[], encode: (json: string) => Buffer | string, headers: Record<string, string>) {
  let bytes = 0;
  const values: Buffer[] = [];
  for (let i = 0; i < messages.length; i += 2_000) {
    const part = messages.slice(i, i + 2_000).map((m) => {
      const value = encode(JSON.stringify(m.value));
      values.push(Buffer.from(value));
      bytes += values[values.length - 1]!.length;
      return { key: m.key, value, headers };
    });
    await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: part }] });
  }
  return { bytes: bytes / messages.length, values };
}

/** The processor's per-message decode (what differs between the variants), CPU only. */
async function decodeMicros(values: readonly Buffer[], decodeValue: ((b: Buffer) => unknown) | undefined): Promise<number> {
  const msgs: LogMessage[] = values.map((value, i) => ({ partition: 0, offset: String(i), key: null, value, timestamp: String(Date.now()) }));
  let best = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    const t0 = performance.now();
    for (const m of msgs) {
      const r = await decodeMessageWith(m, 'bench', Date.now(), decodeValue);
      if (r.kind !== 'ok') throw new Error(`decode bench: ${r.reason}`);
    }
    best = Math.min(best, ((performance.now() - t0) * 1000) / msgs.length);
  }
  return best;
}

interface Setup {
  variant: Variant;
  iso: Isolation;
  schemas: TopicSchemaRegistry | null;
  values: readonly Buffer[];
}

async function processorRun(kafka: Kafka, setup: Setup, n: number, rep: string, redis: Redis): Promise<number> {
  const redisPrefix = `${setup.iso.redisPrefix}${rep}:`;
  const schemas = setup.schemas;
  const running = await startProcessor({
    kafka,
    iso: setup.iso,
    numPartitions: PARTITIONS,
    redisPrefix,
    ...(schemas
      ? {
          decodeValue: schemas.decodeValue,
          changesSink: (producer: RecordProducer) => wireRecordSink(producer, setup.iso.topics.segmentChanges, schemas.encoder('segmentChanges')),
        }
      : {}),
  });
  try {
    await running.source.reached(n, 300_000);
    const { joinedAt, lastAt } = running.source;
    const eps = n / ((lastAt - joinedAt) / 1000);
    console.error(`bench registry: ${setup.variant} ${rep}: ${Math.round(eps)} events/s`);
    return eps;
  } finally {
    await running.stop();
    await deleteRedisPrefix(redis, redisPrefix);
  }
}

export async function runRegistryBench(opts: { quick: boolean }): Promise<RegistryBenchResult> {
  const n = opts.quick ? 20_000 : 100_000;
  const reps = opts.quick ? 3 : 5;
  const registry = await obtainRegistry();
  const url = registry.url;
  const kafka = benchKafka('bench-registry');
  const redis = new Redis(REDIS_URL);
  const producer = kafka.producer();
  const setups = new Map<Variant, Setup>();
  try {
    await producer.connect();
    const messages = mixedWorkload(n, USERS, Date.now(), 14 * DAY, 'rg-');
    const bytes: Record<string, number> = {};
    for (const v of VARIANTS) {
      const iso = isolation(`registry-${v}`);
      await createTopics(kafka, iso, PARTITIONS);
      await publishDefinitions(producer, iso.topics.definitions, seedDefinitions());
      const schemas = v === 'json' ? null : await connectSchemaRegistry({ url, topics: iso.topics });
      let encoder: ValueEncoder | null = null;
      if (schemas && v === 'wire') encoder = schemas.encoder('events');
      if (schemas && v === 'wire_validated') {
        // A direct producer's own JSON Schema: same rules, different document → a different id.
        const copy = { ...eventsSchema, $id: 'https://example.com/schemas/producer-event.json', title: 'producer copy' };
        const id = await new SchemaRegistryRest(url).register(`${iso.topics.events}-com.example.Event`, { schemaType: 'JSON', schema: JSON.stringify(copy) });
        if (id === schemas.ids.events) throw new Error('the producer copy got TinyCDP\'s schema id');
        encoder = wireEncoder(id);
      }
      const loaded = await preloadEncoded(
        producer,
        iso.topics.events,
        messages,
        encoder ? (json) => encoder.encode(json) : (json) => json,
        { 'content-type': encoder ? encoder.contentType : 'application/json' },
      );
      bytes[v] = loaded.bytes;
      setups.set(v, { variant: v, iso, schemas, values: loaded.values });
    }

    const eps: Record<Variant, number[]> = { json: [], wire: [], wire_validated: [] };
    // Warm-up (dropped), then rounds with a rotating order so machine noise hits every variant alike.
    for (const v of VARIANTS) await processorRun(kafka, setups.get(v)!, n, 'warm', redis);
    for (let r = 0; r < reps; r++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!);
      for (const v of order) eps[v].push(await processorRun(kafka, setups.get(v)!, n, `r${r}`, redis));
    }
    const decodeUs = {} as Record<Variant, number>;
    for (const v of VARIANTS) {
      const s = setups.get(v)!;
      decodeUs[v] = round(await decodeMicros(s.values, s.schemas?.decodeValue), 2);
    }
    const ratios = eps.wire.map((x, i) => x / eps.json[i]!);
    const vratios = eps.wire_validated.map((x, i) => x / eps.json[i]!);
    return {
      events: n,
      users: USERS,
      reps,
      json_events_per_s: Math.round(median(eps.json)),
      wire_events_per_s: Math.round(median(eps.wire)),
      wire_validated_events_per_s: Math.round(median(eps.wire_validated)),
      ratio: round(median(ratios), 3),
      ratio_range: range(ratios).map((x) => round(x, 3)) as [number, number],
      validated_ratio: round(median(vratios), 3),
      validated_ratio_range: range(vratios).map((x) => round(x, 3)) as [number, number],
      json_value_bytes: Math.round(bytes['json']!),
      wire_value_bytes: Math.round(bytes['wire']!),
      decode_us: decodeUs,
      registry_url: url,
    };
  } finally {
    await producer.disconnect();
    redis.disconnect();
    for (const s of setups.values()) await deleteTopics(kafka, s.iso.topicPrefix);
    registry.stop();
  }
}

runStandalone(import.meta.url, runRegistryBench);
