/**
 * Interleaved A/B of two processor variants over one pre-loaded topic: the tool for deciding a change
 * to the pipeline on a noisy machine (not a scenario of `npm run bench`, no goal of its own).
 *
 *   npx tsx bench/pipeline-ab.ts --pairs=4 --a='TINYCDP_FETCH_THREAD=false' --b='node:--single-threaded-gc'
 *
 * A variant is a list of `NAME=value` (environment) and `node:<flag>` (Node/V8 flags) tokens; an empty
 * one is the default. Every run is a fresh child process — so process-wide flags can differ — that
 * does an untimed warm-up processor run, a timed one and a raw kafkajs consume-only run over the same
 * events (bench/pipeline.ts' `processorRun` and `consumeOnly`); runs alternate a, b, b, a, a, b, … The
 * report gives, per run and as medians, events/s, the span from first batch to last event, the
 * first-fetch time, CPU seconds of the child's main thread and of its other threads (GC and compiler
 * helpers, worker threads), and Redis' CPU. Wall-clock figures swing by ±30 % between identical runs
 * on a 2-vCPU VM; CPU seconds much less.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { threadCpuSeconds } from './lib/cpu';
import { mixedWorkload } from './lib/events';
import { publishDefinitions, seedDefinitions } from './lib/processor-harness';
import { median, round } from './lib/stats';
import { REDIS_URL, REPO_DIR, benchKafka, createTopics, deleteRedisPrefix, deleteTopics, ensureStack, isMain, isolation, isolationAt, token } from './lib/stack';
import { consumeOnly, processorRun, throughIngest } from './pipeline';

const PARTITIONS = 6;
const USERS = 2_000;
const DAY = 86_400_000;

export interface Variant {
  readonly env: Record<string, string>;
  readonly nodeFlags: string[];
}

/** `NAME=value` and `node:<flag>` tokens, separated by white space. */
export function parseVariant(spec: string): Variant {
  const env: Record<string, string> = {};
  const nodeFlags: string[] = [];
  for (const t of spec.split(/\s+/).filter(Boolean)) {
    const eq = t.indexOf('=');
    if (t.startsWith('node:')) nodeFlags.push(t.slice('node:'.length));
    else if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(t.slice(0, eq))) env[t.slice(0, eq)] = t.slice(eq + 1);
    else throw new Error(`variant token "${t}": expected NAME=value or node:<flag>`);
  }
  return { env, nodeFlags };
}

interface ChildSetup {
  topicPrefix: string;
  redisPrefix: string;
  events: number;
}

interface RunResult {
  eps: number;
  spanMs: number;
  firstMs: number;
  rawEps: number;
  mainCpuS: number;
  otherThreadsCpuS: number;
  redisCpuS: number;
}

async function child(setup: ChildSetup): Promise<RunResult> {
  const iso = isolationAt(setup.topicPrefix, setup.redisPrefix, (what) => `bench-ab-${what}-${token(6)}`);
  const kafka = benchKafka('bench-pipeline-ab');
  const redis = new Redis(REDIS_URL);
  try {
    await processorRun(kafka, iso, setup.events, `w${token(4)}`, redis);
    const t0 = threadCpuSeconds();
    const run = await processorRun(kafka, iso, setup.events, `t${token(4)}`, redis);
    const t1 = threadCpuSeconds();
    const raw = await consumeOnly(kafka, iso, setup.events);
    return {
      eps: run.eps,
      spanMs: run.spanMs,
      firstMs: run.firstBatchMs,
      rawEps: raw.eps,
      mainCpuS: t0 && t1 ? t1.main - t0.main : NaN,
      otherThreadsCpuS: t0 && t1 ? t1.others - t0.others : NaN,
      redisCpuS: run.cpu?.processes['redis']?.cpu_s ?? NaN,
    };
  } finally {
    await redis.quit();
  }
}

function runChild(v: Variant, setup: ChildSetup): Promise<RunResult> {
  const args = [...v.nodeFlags, '--import', 'tsx', 'bench/pipeline-ab.ts', `--child=${JSON.stringify(setup)}`];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: REPO_DIR, env: { ...process.env, ...v.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), 600_000);
    p.on('exit', (code) => {
      clearTimeout(kill);
      const line = out.split('\n').find((l) => l.startsWith('AB '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(3)) as RunResult);
      else reject(new Error(`variant run exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

function row(label: string, r: RunResult): string {
  return [
    label,
    `${Math.round(r.eps)} ev/s`,
    `span ${Math.round(r.spanMs)} ms`,
    `first ${Math.round(r.firstMs)} ms`,
    `raw ${Math.round(r.rawEps)} ev/s (ratio ${round(r.eps / r.rawEps, 3)})`,
    `cpu main ${round(r.mainCpuS)} s, other threads ${round(r.otherThreadsCpuS)} s, redis ${round(r.redisCpuS)} s`,
  ].join('  ');
}

async function main(argv: readonly string[]) {
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const childSetup = arg('child');
  if (childSetup !== undefined) {
    console.log(`AB ${JSON.stringify(await child(JSON.parse(childSetup) as ChildSetup))}`);
    return;
  }
  const pairs = Number(arg('pairs') ?? 3);
  const events = Number(arg('events') ?? 100_000);
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 20) throw new Error('--pairs must be an integer from 1 to 20');
  if (!Number.isInteger(events) || events < 1_000 || events > 1_000_000) throw new Error('--events must be an integer from 1,000 to 1,000,000');
  const variants = { a: parseVariant(arg('a') ?? ''), b: parseVariant(arg('b') ?? '') };

  await ensureStack();
  const kafka = benchKafka('bench-pipeline-ab');
  const iso = isolation('pipeline-ab');
  const redis = new Redis(REDIS_URL);
  const results: Record<'a' | 'b', RunResult[]> = { a: [], b: [] };
  try {
    await createTopics(kafka, iso, PARTITIONS);
    const producer = kafka.producer();
    await producer.connect();
    await publishDefinitions(producer, iso.topics.definitions, seedDefinitions());
    await producer.disconnect();
    await throughIngest(kafka, iso.topics.events, mixedWorkload(events, USERS, Date.now(), 14 * DAY, 'ab-'));
    const setup: ChildSetup = { topicPrefix: iso.topicPrefix, redisPrefix: iso.redisPrefix, events };
    for (let i = 0; i < pairs; i++) {
      for (const side of i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        const r = await runChild(variants[side], setup);
        results[side].push(r);
        console.log(row(side, r));
      }
    }
  } finally {
    await deleteTopics(kafka, iso.topicPrefix);
    await deleteRedisPrefix(redis, iso.redisPrefix);
    await redis.quit();
  }
  const med = (side: 'a' | 'b', f: (r: RunResult) => number) => median(results[side].map(f));
  for (const side of ['a', 'b'] as const) {
    console.log(
      `${side} (${arg(side) || 'default'}), medians: ${Math.round(med(side, (r) => r.eps))} ev/s, span ${Math.round(med(side, (r) => r.spanMs))} ms, ` +
        `ratio to raw ${round(med(side, (r) => r.eps / r.rawEps), 3)}, main-thread CPU ${round(med(side, (r) => r.mainCpuS))} s, other threads ${round(med(side, (r) => r.otherThreadsCpuS))} s`,
    );
  }
  console.log(`b/a: span ${round(med('b', (r) => r.spanMs) / med('a', (r) => r.spanMs), 3)}, main-thread CPU ${round(med('b', (r) => r.mainCpuS) / med('a', (r) => r.mainCpuS), 3)}`);
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
