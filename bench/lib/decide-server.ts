/**
 * One server of the decide benchmark in its own process, as deployed (decide is a stateless service of
 * its own): the bench process holds the seed data, the results and the other servers, and its heap and
 * garbage collections would otherwise land in every server's tail latency.
 *
 * Kinds:
 * - `floor`: a node:http server answering a constant small JSON, no Redis: what any node server gets
 *   from this machine at a given rate (its tail is the box's scheduling noise, not a data path);
 * - `baseline`: a bare node:http server doing ONE ioredis round trip (HGETALL of the profile hash) and
 *   answering it as JSON — the floor any Redis-backed decide can reach; same connection options and
 *   write coalescing as decide (decideRedisOptions, coalesceWrites);
 * - `decide` / `decide-express` / `decide-no-state-cache`: the real app (createDecideApp) on its thin
 *   router, mounted in express, or with the decoded-state cache off; authenticated by the production key
 *   verifier (sha-256 + its in-process cache) over a key table with one read key: in Postgres as
 *   deployed (DATABASE_URL, a schema of its own, dropped at exit), else in an in-process PGlite (whose
 *   queries run on the event loop: each key refresh, every few seconds, stalls it for 2–13 ms).
 *
 * Protocol (bench/lib/child.ts forkWorker): argv[2] = DecideServerSetup JSON; `{ready: true}` once it
 * listens; requests `{cmd: 'info'}` → {port, key}, `{cmd: 'cpu'}` → CPU µs used so far, `{cmd:
 * 'errors'}` → decisions answered ERROR, `{cmd: 'pauses'}` → ServerPauses since the previous one, `{cmd: 'profile-start'}` / `{cmd: 'profile-stop'}` → the CPU
 * profile of the main thread in between, `{cmd: 'exit'}` closes and exits.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { PGlite } from '@electric-sql/pglite';
import { systemClock } from '@tinycdp/common';
import { PGliteSqlClient, PgKeyVerifier, PgSqlClient, createKey, createPool, migrate, type SqlClient } from '@tinycdp/postgres';
import { coalesceWrites, redisKeys } from '@tinycdp/redis';
import { createDecideApp, decideRedisOptions } from '../../services/decide/src/app';
import { serveParent, workerMain } from './child';
import { startCpuProfile, type CpuProfile } from './profile';

export type DecideServerKind = 'floor' | 'baseline' | 'decide' | 'decide-node' | 'decide-express' | 'decide-no-state-cache';

export interface DecideServerSetup {
  readonly kind: DecideServerKind;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  /** Redis read budget, ms (generous: the bench measures throughput and latency, not the outage path). */
  readonly redisBudgetMs: number;
}

export type DecideServerRequest = { cmd: 'info' | 'cpu' | 'pauses' | 'errors' | 'profile-start' | 'profile-stop' | 'exit' };
export interface DecideServerInfo {
  readonly port: number;
  /** The read key (decide kinds), '' for the others. */
  readonly key: string;
  /** Where the decide kinds' key table lives (null for the others). */
  readonly keyStore: KeyStore['kind'] | null;
}

/** Since the previous `pauses` request: GC pause time per second, longest event-loop delay. */
export interface ServerPauses {
  readonly gc_ms_per_s: number;
  readonly loop_delay_max_ms: number;
}

interface Running {
  port: number;
  key: string;
  keyStore: KeyStore['kind'] | null;
  errors(): Promise<number>;
  close(): Promise<void>;
}

/** The Redis-backed floor: parse the id, ONE HGETALL, answer it as JSON. */
function baselineHandler(setup: DecideServerSetup): { handler: RequestListener; close(): void } {
  const redis = new Redis(setup.redisUrl, decideRedisOptions(setup.redisBudgetMs));
  const keys = redisKeys(setup.redisPrefix);
  const handler: RequestListener = (req, res) => {
    const url = req.url ?? '/';
    const id = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('userId') ?? '';
    coalesceWrites(redis);
    redis.hgetall(keys.profile(id)).then(
      (fields) => {
        const body = JSON.stringify({ userId: id, fields });
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      },
      () => {
        res.writeHead(503, { 'content-length': 0 });
        res.end();
      },
    );
  };
  return { handler, close: () => redis.disconnect() };
}

/** The machine's floor: the same id parsing and a constant small answer, no I/O. */
function floorHandler(): { handler: RequestListener; close(): void } {
  const handler: RequestListener = (req, res) => {
    const url = req.url ?? '/';
    const id = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('userId') ?? '';
    const body = JSON.stringify({ userId: id, fields: { traits: '{}', segments: '{}' } });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  return { handler, close: () => undefined };
}

async function plain(setup: DecideServerSetup): Promise<Running> {
  const { handler, close } = setup.kind === 'floor' ? floorHandler() : baselineHandler(setup);
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    key: '',
    keyStore: null,
    errors: async () => 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      close();
    },
  };
}

interface KeyStore {
  readonly kind: 'postgres' | 'pglite';
  readonly db: SqlClient;
  close(): Promise<void>;
}

/** The key table: Postgres when DATABASE_URL is set (a fresh schema, dropped on close), else PGlite. */
async function keyStore(): Promise<KeyStore> {
  const url = process.env['DATABASE_URL'];
  if (!url) {
    const db = new PGliteSqlClient(new PGlite());
    await migrate(db);
    return { kind: 'pglite', db, close: () => db.db.close() };
  }
  const schema = `bench_decide_${process.pid}`;
  const pool = createPool({ connectionString: url, schema, max: 2, applicationName: 'tinycdp-bench-decide' });
  const db = new PgSqlClient(pool);
  await migrate(db, { schema });
  return {
    kind: 'postgres',
    db,
    async close() {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

async function decide(setup: DecideServerSetup): Promise<Running> {
  const store = await keyStore();
  const keyDb = store.db;
  const key = (await createKey(keyDb, 'read', 'bench')).key;
  const redis = new Redis(setup.redisUrl, decideRedisOptions(setup.redisBudgetMs));
  const registry = new Registry();
  const app = createDecideApp({
    redis,
    keys: new PgKeyVerifier(keyDb),
    prefix: setup.redisPrefix,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    registry,
    router: setup.kind === 'decide-express' ? 'express' : setup.kind === 'decide-node' ? 'node' : 'lean',
    stateCacheEntries: setup.kind === 'decide-no-state-cache' ? 0 : 10_000,
    redisTimeoutMs: setup.redisBudgetMs,
  });
  const { port } = await app.listen(0, '127.0.0.1');
  return {
    port,
    key,
    keyStore: store.kind,
    async errors() {
      const m = await registry.getSingleMetric('tinycdp_decide_errors_total')?.get();
      return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
    },
    async close() {
      await app.close();
      redis.disconnect();
      await store.close();
    },
  };
}

async function main(setup: DecideServerSetup): Promise<void> {
  const server = setup.kind === 'floor' || setup.kind === 'baseline' ? await plain(setup) : await decide(setup);
  let stopProfile: (() => Promise<CpuProfile>) | null = null;
  // GC pauses and event-loop delay since the last `pauses` request.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let gcMs = 0;
  let since = performance.now();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  }).observe({ entryTypes: ['gc'] });

  const answer = async (cmd: DecideServerRequest['cmd']): Promise<unknown> => {
    switch (cmd) {
      case 'info':
        return { port: server.port, key: server.key, keyStore: server.keyStore } satisfies DecideServerInfo;
      case 'cpu': {
        const u = process.cpuUsage();
        return u.user + u.system;
      }
      case 'pauses': {
        const now = performance.now();
        const out: ServerPauses = { gc_ms_per_s: (gcMs * 1000) / Math.max(1, now - since), loop_delay_max_ms: loop.max / 1e6 };
        gcMs = 0;
        since = now;
        loop.reset();
        return out;
      }
      case 'errors':
        return server.errors();
      case 'profile-start':
        stopProfile = await startCpuProfile();
        return null;
      case 'profile-stop': {
        if (!stopProfile) throw new Error('profile-stop without profile-start');
        const p = await stopProfile();
        stopProfile = null;
        return p;
      }
      default:
        throw new Error(`unknown command ${String(cmd)}`);
    }
  };
  serveParent<DecideServerRequest>(
    (m) => answer(m.cmd),
    async () => {
      await server.close().catch(() => undefined);
      process.exit(0);
    },
  );
}

workerMain('decide-server.ts', main);
