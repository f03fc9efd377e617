/**
 * Decide benchmark. Same run, same Redis, same profiles, each server in its own process
 * (bench/lib/decide-server.ts):
 * - baseline: a bare node:http server doing ONE ioredis round trip (HGETALL of the profile hash) and
 *   answering it as JSON — the floor any Redis-backed decide can reach;
 * - decide: the real app (auth with the production key verifier — sha-256 + its in-process cache, over
 *   an in-memory PGlite key table —, parse, HGETALL, decode, evaluate a 3-rule flag reading segments
 *   and traits, JSON) with GET /v1/decide on its lean HTTP/1.1 front; the same on node:http (thin
 *   router); the same handlers mounted in express; and the lean front with the decoded-state cache off.
 * The load generator runs in a child process of its own (bench/lib/http-load.ts: loadgen.c, or the node worker), loopback only.
 *
 * Reports max rps (closed loop, fixed concurrency) for both, their ratio (goal ≥ 0.8), and decide's
 * latency at half the baseline's max rate (open loop, constant rate; goal p99 < 5 ms).
 * Run: `npx tsx bench/decide.ts [--quick]` (prints JSON). Needs Redis (REDIS_URL, default local).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import {
  identify,
  putDefinitions,
  seedDefinitions,
  seedPlan,
  track,
  writeProfile,
} from '../services/decide/src/test-fixtures';
import { forkWorker, type IpcWorker } from './lib/child';
import type { DecideServerInfo, DecideServerKind, DecideServerRequest, DecideServerSetup, ServerPauses } from './lib/decide-server';
import type { CpuProfile } from './lib/profile';
import { median, range, round } from './lib/stats';
import { rawGet, runLoad, type LoadConfig, type LoadResult } from './lib/http-load';

export interface DecideBenchResult {
  /** Decide max requests/s (closed loop; median of repetitions). */
  rps: number;
  /** Decide latency at `load_rps` (open loop). */
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  /** Baseline max requests/s and its p99 at `load_rps`. */
  baseline_rps: number;
  baseline_p99_ms: number;
  /** p99 of each latency repetition (min–max; the reported run is the median one). */
  p99_range: [number, number];
  baseline_p99_range: [number, number];
  /**
   * A node:http server with no I/O (constant answer) at the same rate, same generator: the tail this
   * machine gives any node server; decide's p99 cannot be told apart from it when they overlap.
   */
  floor_p50_ms: number;
  floor_p99_ms: number;
  floor_p99_range: [number, number];
  /** Constant rate of the latency runs: half the baseline's max. */
  load_rps: number;
  /** Answers/s actually completed in the latency runs: below load_rps, the box could not keep the rate
   *  (then the latencies measure queueing on a saturated machine, not decide). */
  load_achieved_rps: number;
  baseline_load_achieved_rps: number;
  /** Latency run requests that found every connection busy (a sign of saturation). */
  load_queued: number;
  /** GC pause time in the serving process per second of a latency run (median of runs). */
  gc_pause_ms_per_s: number;
  baseline_gc_pause_ms_per_s: number;
  floor_gc_pause_ms_per_s: number;
  /** Longest event-loop delay of the serving process in a latency run (median of runs), decide and
   *  the no-I/O floor: stalls the floor shows too are the machine's, not decide's. */
  loop_delay_max_ms: number;
  floor_loop_delay_max_ms: number;
  /** Server CPU per request in the latency runs (open loop at load_rps; fewer requests share a turn). */
  load_cpu_us_per_req: number;
  baseline_load_cpu_us_per_req: number;
  /** Per-repetition decide/baseline rps ratios (min–max). */
  ratio_range: [number, number];
  /** rps / baseline_rps (goal ≥ 0.8). */
  ratio: number;
  /** Decide with GET /v1/decide on node:http (thin router) instead of the lean front (why the front). */
  node_rps: number;
  node_ratio: number;
  /** The same decide handlers mounted as express routes (why the hot path does not use express). */
  express_rps: number;
  express_ratio: number;
  /** Decide with the decoded-state cache off (every request decodes its profile). */
  no_state_cache_rps: number;
  no_state_cache_ratio: number;
  /** Server CPU time per request (µs), measured in the serving process: robust to a busy machine. */
  cpu_us_per_req: number;
  baseline_cpu_us_per_req: number;
  node_cpu_us_per_req: number;
  express_cpu_us_per_req: number;
  no_state_cache_cpu_us_per_req: number;
  users: number;
  concurrency: number;
  /** Load generator used (bench/lib/http-load.ts): 'c' (loadgen.c) or the node fallback. */
  generator: 'c' | 'node';
  /** Where decide's API-key table lived: Postgres (DATABASE_URL, as deployed) or the in-process PGlite fallback. */
  key_store: 'postgres' | 'pglite';
}

/** What one latency run measured in the serving process. */
type OpenRunServer = ServerPauses & { readonly cpuPerReq: number };

const USERS = 200;
const HOUR = 3_600_000;
const REDIS_BUDGET_MS = 1_000;
const SERVER = fileURLToPath(new URL('./lib/decide-server.ts', import.meta.url));
/** Bounds every server process, whatever happens. */
const SERVER_HARD_TIMEOUT_MS = 15 * 60_000;

async function seed(redis: Redis, prefix: string): Promise<void> {
  await putDefinitions(redis, prefix, seedDefinitions());
  const plan = seedPlan();
  const now = Date.now();
  for (let i = 0; i < USERS; i++) {
    const id = `u${i}`;
    // Half are frequent, high-value buyers; all have some history (30 days of events).
    const n = i % 2 === 0 ? 6 : 1;
    const events = [
      identify(id, now - 40 * HOUR, { plan: i % 3 === 0 ? 'premium' : 'free' }),
      ...Array.from({ length: n }, (_, k) => track(id, 'purchase', now - (k + 1) * 5 * HOUR, { amount: 120 })),
      ...Array.from({ length: 10 }, (_, k) => track(id, 'app_open', now - k * 24 * HOUR)),
    ];
    await writeProfile(redis, prefix, plan, id, events, now);
  }
}

async function cleanup(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function runDecideBench(opts: { quick?: boolean } = {}): Promise<DecideBenchResult> {
  const quick = opts.quick ?? false;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-decide-${randomBytes(4).toString('hex')}:`;
  const warmupMs = quick ? 500 : 1_500;
  const durationMs = quick ? 1_500 : 4_000;
  // Several short interleaved runs and their median: a shared machine's noise hits every variant alike.
  const reps = quick ? 3 : 5;
  const concurrency = 32;

  const writer = new Redis(redisUrl);
  const servers: IpcWorker<DecideServerRequest, unknown>[] = [];
  try {
    await seed(writer, prefix);
    // Each server in its own process (bench/lib/decide-server.ts), as deployed; this process only seeds,
    // drives the load generator (a child of its own) and collects the figures.
    const start = async (kind: DecideServerKind) => {
      const setup: DecideServerSetup = { kind, redisUrl, redisPrefix: prefix, redisBudgetMs: REDIS_BUDGET_MS };
      const w = await forkWorker<DecideServerRequest, unknown>(SERVER, setup, SERVER_HARD_TIMEOUT_MS);
      servers.push(w);
      return { w, ...((await w.request({ cmd: 'info' })) as DecideServerInfo) };
    };
    const floor = await start('floor');
    const base = await start('baseline');
    const fast = await start('decide');
    const onNode = await start('decide-node');
    const express = await start('decide-express');
    const noCache = await start('decide-no-state-cache');

    const ids = Array.from({ length: USERS }, (_, i) => `u${i}`);
    const baseReqs = ids.map((id) => rawGet(`/?userId=${id}`));
    // One read key per decide process (each has its own key table); the same requests otherwise.
    const decideReqs = (key: string) => ids.map((id) => rawGet(`/v1/decide?userId=${id}&flag=new_checkout`, { Authorization: `Bearer ${key}` }));
    type Server = { w: IpcWorker<DecideServerRequest, unknown>; port: number };
    // Server CPU per request, measured by the serving process: robust to a noisy machine, unlike rps.
    const measured = async (server: Server, cfg: Pick<LoadConfig, 'requests' | 'mode' | 'concurrency' | 'rate' | 'maxConnections'>) => {
      const before = (await server.w.request({ cmd: 'cpu' })) as number;
      const r = await runLoad({ host: '127.0.0.1', port: server.port, warmupMs, durationMs, ...cfg });
      const used = ((await server.w.request({ cmd: 'cpu' })) as number) - before;
      return { r, cpuPerReq: used / Math.max(1, r.total) };
    };
    const cpu = { b: [] as number[], f: [] as number[], o: [] as number[], e: [] as number[], n: [] as number[] };
    const closed = async (server: Server, requests: string[], tag: keyof typeof cpu) => {
      const { r, cpuPerReq } = await measured(server, { requests, mode: 'closed', concurrency, rate: 0, maxConnections: concurrency });
      cpu[tag].push(cpuPerReq);
      return r;
    };
    // Each latency run also collects the serving process's GC pauses and event-loop delay (what made
    // the tail: ioredis auto-pipelining once cost decide 6% of its time in GC pauses of up to 10 ms).
    const serverSide = { f: [] as OpenRunServer[], b: [] as OpenRunServer[], x: [] as OpenRunServer[] };
    const open = async (server: Server, requests: string[], rate: number, tag: keyof typeof serverSide) => {
      await server.w.request({ cmd: 'pauses' });
      const { r, cpuPerReq } = await measured(server, { requests, mode: 'open', concurrency: 16, rate, maxConnections: 256 });
      serverSide[tag].push({ ...((await server.w.request({ cmd: 'pauses' })) as ServerPauses), cpuPerReq });
      return r;
    };

    const check = (what: string, r: LoadResult): LoadResult => {
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${what}: ${r.non2xx} non-2xx and ${r.errors} errors`);
      return r;
    };

    // Max throughput, baseline and decide interleaved so machine noise hits both alike.
    const baseRuns: LoadResult[] = [];
    const fastRuns: LoadResult[] = [];
    const nodeRuns: LoadResult[] = [];
    const expressRuns: LoadResult[] = [];
    const noCacheRuns: LoadResult[] = [];
    for (let i = 0; i < reps; i++) {
      const order = i % 2 === 0 ? ['b', 'f', 'o', 'e', 'n'] : ['n', 'e', 'o', 'f', 'b'];
      for (const o of order) {
        if (o === 'b') baseRuns.push(check('baseline', await closed(base, baseReqs, 'b')));
        if (o === 'f') fastRuns.push(check('decide', await closed(fast, decideReqs(fast.key), 'f')));
        if (o === 'o') nodeRuns.push(check('decide/node:http', await closed(onNode, decideReqs(onNode.key), 'o')));
        if (o === 'e') expressRuns.push(check('decide/express', await closed(express, decideReqs(express.key), 'e')));
        if (o === 'n') noCacheRuns.push(check('decide/no-state-cache', await closed(noCache, decideReqs(noCache.key), 'n')));
      }
    }
    const baselineRps = median(baseRuns.map((r) => r.rps));
    const rps = median(fastRuns.map((r) => r.rps));
    const nodeRps = median(nodeRuns.map((r) => r.rps));
    const expressRps = median(expressRuns.map((r) => r.rps));
    const noCacheRps = median(noCacheRuns.map((r) => r.rps));

    // Latency at half the baseline's max rate (open loop), decide and baseline interleaved; the
    // repetition with the median p99 of each side is reported (with the range of p99s).
    const loadRps = Math.max(100, Math.round(baselineRps / 2));
    // The floor server (no I/O) at the same rate tells what of the tail is this machine's.
    const decideLats: LoadResult[] = [];
    const baseLats: LoadResult[] = [];
    const floorLats: LoadResult[] = [];
    for (let i = 0; i < reps; i++) {
      const order = [['f', 'b', 'x'], ['b', 'x', 'f'], ['x', 'f', 'b']][i % 3]!;
      for (const o of order) {
        if (o === 'f') decideLats.push(check('decide open loop', await open(fast, decideReqs(fast.key), loadRps, 'f')));
        if (o === 'b') baseLats.push(check('baseline open loop', await open(base, baseReqs, loadRps, 'b')));
        if (o === 'x') floorLats.push(check('floor open loop', await open(floor, baseReqs, loadRps, 'x')));
      }
    }
    const medianRun = (runs: LoadResult[]) => [...runs].sort((a, b) => a.p99_ms - b.p99_ms)[Math.floor(runs.length / 2)]!;
    const decideLat = medianRun(decideLats);
    const baseLat = medianRun(baseLats);
    const floorLat = medianRun(floorLats);

    let failed = 0;
    for (const s of [fast, onNode, express, noCache]) failed += (await s.w.request({ cmd: 'errors' })) as number;
    if (failed > 0) throw new Error(`decide answered ${failed} requests with ERROR (Redis reads failed): run invalid`);

    await profileDecide(fast.w, fast.port, decideReqs(fast.key), { quick, durationMs, concurrency, rps, baselineRps });

    return {
      rps: Math.round(rps),
      p50_ms: decideLat.p50_ms,
      p99_ms: decideLat.p99_ms,
      p999_ms: decideLat.p999_ms,
      baseline_rps: Math.round(baselineRps),
      baseline_p99_ms: baseLat.p99_ms,
      p99_range: range(decideLats.map((r) => r.p99_ms)),
      baseline_p99_range: range(baseLats.map((r) => r.p99_ms)),
      floor_p50_ms: floorLat.p50_ms,
      floor_p99_ms: floorLat.p99_ms,
      floor_p99_range: range(floorLats.map((r) => r.p99_ms)),
      load_rps: loadRps,
      load_achieved_rps: decideLat.rps,
      baseline_load_achieved_rps: baseLat.rps,
      load_queued: decideLat.queued,
      gc_pause_ms_per_s: round(median(serverSide.f.map((p) => p.gc_ms_per_s)), 1),
      baseline_gc_pause_ms_per_s: round(median(serverSide.b.map((p) => p.gc_ms_per_s)), 1),
      floor_gc_pause_ms_per_s: round(median(serverSide.x.map((p) => p.gc_ms_per_s)), 1),
      loop_delay_max_ms: round(median(serverSide.f.map((p) => p.loop_delay_max_ms)), 1),
      load_cpu_us_per_req: Math.round(median(serverSide.f.map((p) => p.cpuPerReq))),
      baseline_load_cpu_us_per_req: Math.round(median(serverSide.b.map((p) => p.cpuPerReq))),
      floor_loop_delay_max_ms: round(median(serverSide.x.map((p) => p.loop_delay_max_ms)), 1),
      ratio: round(rps / baselineRps, 3),
      ratio_range: range(fastRuns.map((r, i) => r.rps / baseRuns[i]!.rps)).map((x) => round(x, 3)) as [number, number],
      node_rps: Math.round(nodeRps),
      node_ratio: round(nodeRps / baselineRps, 3),
      express_rps: Math.round(expressRps),
      express_ratio: round(expressRps / baselineRps, 3),
      no_state_cache_rps: Math.round(noCacheRps),
      no_state_cache_ratio: round(noCacheRps / baselineRps, 3),
      cpu_us_per_req: Math.round(median(cpu.f)),
      baseline_cpu_us_per_req: Math.round(median(cpu.b)),
      node_cpu_us_per_req: Math.round(median(cpu.o)),
      express_cpu_us_per_req: Math.round(median(cpu.e)),
      no_state_cache_cpu_us_per_req: Math.round(median(cpu.n)),
      users: USERS,
      concurrency,
      generator: decideLat.generator,
      key_store: fast.keyStore ?? 'pglite',
    };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await cleanup(writer, prefix).catch(() => undefined);
    writer.disconnect();
  }
}

/**
 * Decide's hot path, for inclusive CPU time (`fn@<url fragment>` tells same-named functions apart; names
 * that never show up — renamed or inlined — are left out of the table). The route handler and the
 * router's dispatch are anonymous arrows: their own time is in the top self-time list.
 */
const DECIDE_HOT_PATH = [
  'parserOnHeadersComplete',
  'parserOnIncoming',
  'authenticate',
  'verify',
  'parseDecideQuery',
  'decide@services/decide/src/decide-service',
  'selectFlags',
  'read@services/decide/src/profile-reader',
  'readUnbounded',
  'sendCommand@ioredis',
  'returnReply@ioredis',
  'decideFor',
  'DecideService.decode',
  'decode@services/decide/src/state-cache',
  'decodeProfile',
  'profileView',
  'evaluateFlag',
  'singleDecisionBody',
  'flagsBody',
  'sendJson',
  'writeHead',
  'resOnFinish',
  'writevGeneric',
  'observe@services/decide/src/metrics',
  'observe@prom-client',
  'decision@services/decide/src/metrics',
  'inc@prom-client',
];

/**
 * One extra, untimed closed-loop run of the real decide server (thin router, state cache on) under the
 * CPU profiler of its process (the load generator is another process): writes
 * decide.cpuprofile and decide-profile.md (inclusive time of the hot path, top self-time functions, time
 * per area) next to the results (lib/report.ts resultsDir()). The timed figures are not affected.
 */
async function profileDecide(
  server: IpcWorker<DecideServerRequest, unknown>,
  port: number,
  requests: string[],
  o: { quick: boolean; durationMs: number; concurrency: number; rps: number; baselineRps: number },
): Promise<void> {
  const { inclusiveTimes, profileMarkdown, summarizeProfile } = await import('./lib/profile');
  const { resultsDir } = await import('./lib/report');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  await server.request({ cmd: 'profile-start' });
  let load: LoadResult;
  let profile: CpuProfile;
  try {
    load = await runLoad({ host: '127.0.0.1', port, requests, mode: 'closed', concurrency: o.concurrency, rate: 0, warmupMs: 0, durationMs: o.durationMs, maxConnections: o.concurrency });
  } finally {
    profile = (await server.request({ cmd: 'profile-stop' })) as CpuProfile;
  }
  if (load.non2xx > 0 || load.errors > 0) throw new Error(`decide profiled run: ${load.non2xx} non-2xx and ${load.errors} errors`);
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/decide.cpuprofile`, JSON.stringify(profile));
  writeFileSync(
    `${dir}/decide-profile.md`,
    profileMarkdown(
      `Decide CPU profile — GET /v1/decide, ${USERS} users, ${o.concurrency} connections`,
      summarizeProfile(profile, 20),
      [
        `Recorded ${new Date().toISOString()} by \`${o.quick ? 'npx tsx bench/decide.ts --quick' : 'npm run bench'}\` (bench/decide.ts): one untimed closed-loop run`,
        `of ${o.durationMs / 1000} s against the real decide server (thin router, state cache on); the serving process's main thread`,
        'sampled every 0.5 ms with node:inspector (open `decide.cpuprofile` in Chrome DevTools / speedscope). The load generator',
        'is a child process and not in the profile.',
        `Rate under the profiler: ${Math.round(load.rps)} req/s (timed runs: decide ${Math.round(o.rps)}, bare HGETALL baseline ${Math.round(o.baselineRps)}).`,
        'JSON.stringify/JSON.parse are native: their time is self time of the calling function (e.g. the anonymous route',
        'handler in services/decide/src/http/routes.ts); socket writes show as native `writev`/`writeUtf8String`.',
      ],
      inclusiveTimes(profile, DECIDE_HOT_PATH),
      'Inclusive CPU time of the decide hot path',
    ),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDecideBench({ quick: process.argv.includes('--quick') })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
