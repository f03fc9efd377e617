/**
 * The real stack the scenarios run against: Kafka and Redis on loopback (KAFKA_BROKERS / REDIS_URL,
 * defaults 127.0.0.1:9092 and redis://127.0.0.1:6379), brought up with scripts/services.sh when not
 * answering, plus isolation helpers (per-run topic prefix, group id, Redis key prefix) and cleanup.
 */
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kafka, logLevel, type Admin, type ITopicConfig } from 'kafkajs';
import type { Redis } from 'ioredis';
import { DEFAULT_TOPIC_SETTINGS, ensureTopics, topicNames, topicSpecs, type TopicNames } from '@tinycdp/kafka';

export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const KAFKA_BROKERS: readonly string[] = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim());
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Service = 'kafka' | 'redis';

function hostPort(s: Service): { host: string; port: number } {
  if (s === 'kafka') {
    const [host, port] = KAFKA_BROKERS[0]!.split(':');
    return { host: host || '127.0.0.1', port: Number(port || 9092) };
  }
  const u = new URL(REDIS_URL);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) };
}

function answers(host: string, port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Makes sure Kafka and Redis answer; runs `bash scripts/services.sh up <missing…>` (bounded to 4 min)
 * for the ones that do not. Loopback only.
 * @throws Error when a service still does not answer afterwards.
 */
export async function ensureStack(needs: readonly Service[] = ['kafka', 'redis']): Promise<void> {
  for (const s of needs) {
    const { host } = hostPort(s);
    if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`bench runs on loopback only; ${s} is at ${host}`);
  }
  const missing: Service[] = [];
  for (const s of needs) {
    const { host, port } = hostPort(s);
    if (!(await answers(host, port))) missing.push(s);
  }
  if (missing.length === 0) return;
  console.error(`bench: ${missing.join(', ')} not answering; running scripts/services.sh up ${missing.join(' ')}`);
  const r = spawnSync('bash', ['scripts/services.sh', 'up', ...missing], { cwd: REPO_DIR, stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 });
  if (r.status !== 0) throw new Error(`scripts/services.sh up ${missing.join(' ')} failed (status ${r.status})`);
  for (const s of missing) {
    const { host, port } = hostPort(s);
    if (!(await answers(host, port))) throw new Error(`${s} still not answering at ${host}:${port}`);
  }
}

export function benchKafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [...KAFKA_BROKERS], logLevel: logLevel.NOTHING });
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
export function token(length = 8): string {
  let out = '';
  for (const b of randomBytes(length)) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** Names for one scenario run: `bench<name>-<token>.` topics, a Redis prefix, fresh group ids. */
export interface Isolation {
  readonly topicPrefix: string;
  readonly topics: TopicNames;
  readonly redisPrefix: string;
  group(what: string): string;
}

export function isolation(name: string): Isolation {
  const t = token(6);
  return isolationAt(`bench-${name}-${t}.`, `bench-${name}-${t}:`, (what) => `bench-${name}-${what}-${token(6)}`);
}

/** The isolation whose topics and Redis keys live under these prefixes (e.g. one made in another process). */
export function isolationAt(topicPrefix: string, redisPrefix: string, group: (what: string) => string): Isolation {
  return { topicPrefix, topics: topicNames(topicPrefix), redisPrefix, group };
}

/** Creates the four TinyCDP topics under the isolation prefix (events/segment-changes with `partitions`) plus `extra`. */
export async function createTopics(kafka: Kafka, iso: Isolation, partitions: number, extra: readonly ITopicConfig[] = []): Promise<void> {
  const specs = [...topicSpecs(iso.topics, { ...DEFAULT_TOPIC_SETTINGS, partitions }), ...extra];
  // kafkajs' createTopics(waitForLeaders) sometimes fails with UNKNOWN_TOPIC_OR_PARTITION while the new
  // topics' metadata propagates; ensureTopics is idempotent, so try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin(kafka, (admin) => ensureTopics(admin, specs));
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(500 * attempt);
    }
  }
}

/** Deletes every topic whose name starts with `prefix` (best effort). */
export async function deleteTopics(kafka: Kafka, prefix: string): Promise<void> {
  if (!prefix.startsWith('bench-')) throw new Error(`refusing to delete topics outside bench-*: ${prefix}`);
  await withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  }).catch((err: unknown) => console.error(`bench: could not delete topics ${prefix}*: ${(err as Error).message}`));
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Sum of committed offsets of `groupId` and of the high watermarks of `topic`. */
export async function groupProgress(admin: Admin, groupId: string, topic: string): Promise<{ committed: number; high: number }> {
  const [high, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const c = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let h = 0;
  let done = 0;
  for (const p of high) {
    h += Number(p.high);
    done += Math.max(0, c.get(p.partition) ?? 0);
  }
  return { committed: done, high: h };
}

/** Deletes every Redis key under `prefix` (SCAN + UNLINK). */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<number> {
  if (!prefix.startsWith('bench-')) throw new Error(`refusing to delete Redis keys outside bench-*: ${prefix}`);
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) n += await redis.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Polls `fn` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wall-clock ms with sub-ms resolution, comparable across processes on this machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  return !!process.argv[1] && metaUrl === pathToFileURL(process.argv[1]).href;
}

/** Standalone entry point of a scenario: `npx tsx bench/<name>.ts [--quick]` prints its JSON. */
export function runStandalone<T>(metaUrl: string, fn: (opts: { quick: boolean }) => Promise<T>): void {
  if (!isMain(metaUrl)) return;
  const quick = process.argv.includes('--quick');
  ensureStack()
    .then(() => fn({ quick }))
    .then((r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

/** Bounds a scenario step in time. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
