import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics, register as defaultRegistry } from 'prom-client';
import { systemClock } from '@tinycdp/common';
import { createKey, ensureAdminKey, KEY_COLUMNS, toKeyRecord } from '@tinycdp/postgres';
import { createIngestApp } from '@tinycdp/ingest';
import { createAdminApp, adminRegistry, OutboxRelay, parseReport } from '@tinycdp/admin';
import type { Processor } from '@tinycdp/processor';
import { ProcessorRunner } from './processor-runner';
import { parseAllInOneConfig, type AllInOneConfig } from './config';
import { openConfigBackend, openLogBackend, openStateBackend, type ConfigBackend, type LogBackend, type StateBackend } from './backends';
import { createDecideForBackend } from './decide';

export interface RunningTinyCdp {
  readonly port: number;
  readonly url: string;
  readonly config: AllInOneConfig;
  /** Set when this start created the first admin key (printed once). */
  readonly bootstrapAdminKey: string | null;
  stop(): Promise<void>;
}

/**
 * Every service in one process on one port: ingest, processor, decide, admin. Each backend is the real
 * one when its URL is set (KAFKA_BROKERS, REDIS_URL, DATABASE_URL) and embedded otherwise (durable file
 * log, in-memory state rebuilt from that log, PGlite). Same engine, same HTTP APIs.
 */
export async function startAllInOne(env: Record<string, string | undefined>, opts: { logger?: Logger } = {}): Promise<RunningTinyCdp> {
  const config = parseAllInOneConfig(env);
  const logger = opts.logger ?? pino({ level: config.LOG_LEVEL, redact: ['req.headers.authorization'] });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dataDir = resolve(config.TINYCDP_DATA_DIR);
  await mkdir(dataDir, { recursive: true });

  const log = await openLogBackend(config, logger);
  const state = await openStateBackend(config, logger);
  const cfg = await openConfigBackend(config, logger);
  logger.info({ log: log.kind, state: state.kind, config: cfg.kind, dataDir }, 'backends_open');

  const bootstrapAdminKey = await ensureBootstrapKey(cfg, config, logger);

  // --- processor -------------------------------------------------------------------------------
  const runner = new ProcessorRunner(log, state, config.TINYCDP_PROCESSOR_GROUP, logger);
  await runner.start();

  // --- admin, ingest, decide --------------------------------------------------------------------
  const relay = new OutboxRelay({ db: cfg.db, publisher: log.definitionPublisher, logger: logger.child({ component: 'outbox' }) });
  relay.start();
  const admin = createAdminApp({
    db: cfg.db,
    keys: cfg.keys,
    clock: systemClock,
    logger: logger.child({ service: 'admin' }),
    profiles: { get: (id) => state.getProfile(id) },
    members: state.members,
    rolloutStatus: {
      read: async (fields) => (await state.rollout.readStatus(fields)).map((json) => parseReport(json)),
    },
    onDefinitionsChanged: () => relay.notify(),
  });
  const ingest = createIngestApp({ sink: log.eventSink, keys: cfg.keys, clock: systemClock, logger: logger.child({ service: 'ingest' }), registry: defaultRegistry });
  const decide = await createDecideForBackend(state, cfg.keys, logger.child({ service: 'decide' }), registry);

  // --- one HTTP server --------------------------------------------------------------------------
  const controlToken = randomBytes(24).toString('base64url');
  const route = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/health') return void health(res, { log, state, cfg, processor: runner.processor });
    if (path === '/metrics') return void metrics(res, [registry, runner.registry, defaultRegistry, adminRegistry]);
    if (path === '/processor/health') return void processorHealth(res, runner.processor);
    if (path === '/v1/segment-changes/stream') return void changeStream(req, res, log, cfg);
    if (path.startsWith('/internal/v1/')) return void control(req, res, cfg, controlToken, runner);
    if (path.startsWith('/v1/decide') || path.startsWith('/ofrep/') || path === '/decide/health') return decide.handler(req, res);
    if (path.startsWith('/v1/admin') || path === '/admin/health') return admin(req, res);
    return ingest(req, res);
  };
  const server = http.createServer(route);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((ok) => server.listen(config.PORT, config.HOST, ok));
  const port = (server.address() as { port: number }).port;
  const serverFile = join(dataDir, 'server.json');
  await writeFile(serverFile, JSON.stringify({ pid: process.pid, port, controlToken }), { mode: 0o600 });
  await chmod(serverFile, 0o600);
  logger.info({ port }, 'tinycdp_listening');

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    config,
    bootstrapAdminKey,
    async stop() {
      await new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
      await rm(serverFile, { force: true });
      await decide.close();
      await relay.stop();
      await runner.stop();
      await log.close();
      await state.close();
      await cfg.close();
    },
  };
}

/** Creates the first admin key when none exists (printed once), or ensures TINYCDP_ADMIN_KEY. */
async function ensureBootstrapKey(cfg: ConfigBackend, config: AllInOneConfig, logger: Logger): Promise<string | null> {
  if (config.TINYCDP_ADMIN_KEY) {
    const r = await ensureAdminKey(cfg.db, config.TINYCDP_ADMIN_KEY);
    logger.info({ keyId: r.id, created: r.created, revoked: r.revoked }, 'admin_key_ensured');
    return null;
  }
  const { rows } = await cfg.db.query<{ n: string }>("SELECT count(*)::text AS n FROM api_keys WHERE scope = 'admin' AND revoked_at IS NULL");
  if (Number(rows[0]?.n ?? 0) > 0) return null;
  const created = await createKey(cfg.db, 'admin', 'first start');
  return created.key;
}

async function health(res: ServerResponse, b: { log: LogBackend; state: StateBackend; cfg: ConfigBackend; processor: Processor }) {
  const checks: Record<string, { status: string; latencyMs?: number; error?: string }> = {};
  const probe = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    try {
      await fn();
      checks[name] = { status: 'ok', latencyMs: +(performance.now() - t0).toFixed(2) };
    } catch (err) {
      checks[name] = { status: 'down', error: (err as Error).message };
    }
  };
  await Promise.all([
    probe(`log(${b.log.kind})`, () => b.log.eventSink.ping?.() ?? Promise.resolve()),
    probe(`state(${b.state.kind})`, () => b.state.redis?.ping() ?? Promise.resolve()),
    // Redis came back empty: the processor pauses until `tinycdp rebuild` (safety/redis-epoch.ts).
    ...(b.state.epoch ? [probe('state epoch', () => b.state.epoch!.health())] : []),
    probe(`config(${b.cfg.kind})`, () => b.cfg.db.query('SELECT 1')),
    probe('processor', () => b.processor.lag()),
  ]);
  const ok = Object.values(checks).every((c) => c.status === 'ok');
  json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', service: 'tinycdp', checks });
}

async function processorHealth(res: ServerResponse, processor: Processor) {
  try {
    const t0 = performance.now();
    const lag = await processor.lag();
    json(res, 200, { status: 'ok', service: 'processor', checks: { log: { status: 'ok', latencyMs: +(performance.now() - t0).toFixed(2), lag } } });
  } catch (err) {
    json(res, 503, { status: 'degraded', service: 'processor', checks: { log: { status: 'down', error: (err as Error).message } } });
  }
}

async function metrics(res: ServerResponse, registries: Registry[]) {
  const seen = new Set<Registry>();
  const parts: string[] = [];
  for (const r of registries) {
    if (seen.has(r)) continue;
    seen.add(r);
    parts.push(await r.metrics());
  }
  res.writeHead(200, { 'content-type': registries[0]!.contentType });
  res.end(parts.join('\n'));
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function errorBody(code: string, message: string) {
  return { error: { code, message, details: null } };
}

/** Authenticates with an admin key (the same rule as /v1/admin). */
async function requireAdmin(req: IncomingMessage, res: ServerResponse, cfg: ConfigBackend): Promise<boolean> {
  const auth = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) {
    json(res, 401, errorBody('unauthorized', 'missing or malformed Authorization header (expected: Bearer <key>)'));
    return false;
  }
  const key = await cfg.keys.verify(m[1]!).catch(() => null);
  if (!key) {
    json(res, 401, errorBody('unauthorized', 'unknown or revoked API key'));
    return false;
  }
  if (key.scope !== 'admin' && key.scope !== 'read') {
    json(res, 403, errorBody('forbidden', `this endpoint needs a read or admin key; this key has scope "${key.scope}"`));
    return false;
  }
  return true;
}

/**
 * `GET /v1/segment-changes/stream[?from=beginning]`: the segment-change topic as Server-Sent Events
 * (embedded log only; with Kafka, subscribe to the topic directly). Needs a read or admin key.
 */
async function changeStream(req: IncomingMessage, res: ServerResponse, log: LogBackend, cfg: ConfigBackend) {
  if (!(await requireAdmin(req, res, cfg))) return;
  if (!log.tailChanges) {
    json(res, 501, errorBody('bad_request', 'the HTTP change stream exists in embedded mode; with Kafka, consume the segment-changes topic'));
    return;
  }
  const fromBeginning = new URL(req.url ?? '/', 'http://x').searchParams.get('from') === 'beginning';
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': tinycdp segment changes\n\n');
  const stop = await log.tailChanges((value, offset) => res.write(`id: ${offset}\nevent: segment-change\ndata: ${value}\n\n`), fromBeginning);
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  req.on('close', () => {
    clearInterval(ping);
    void stop();
  });
}

/**
 * Loopback control endpoints for the CLI (`tinycdp keys …` while the embedded server holds PGlite).
 * Contract: services/cli/src/internal/control-client.ts. Auth: the token in <dataDir>/server.json
 * (mode 0600), so only someone who can read the data dir can use it.
 */
async function control(req: IncomingMessage, res: ServerResponse, cfg: ConfigBackend, token: string, runner: ProcessorRunner) {
  const remote = req.socket.remoteAddress ?? '';
  if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)) return json(res, 403, errorBody('forbidden', 'control endpoints answer loopback only'));
  const given = Buffer.from((/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '').padEnd(token.length).slice(0, 256));
  const want = Buffer.from(token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return json(res, 401, errorBody('unauthorized', 'bad control token'));
  const path = (req.url ?? '').split('?')[0]!;
  try {
    if (req.method === 'GET' && path === '/internal/v1/keys') {
      const { rows } = await cfg.db.query<any>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at`);
      return json(res, 200, { items: rows.map(toKeyRecord) });
    }
    if (req.method === 'POST' && path === '/internal/v1/keys') {
      const body = JSON.parse(await readBody(req)) as { scope?: string; name?: string };
      if (body.scope !== 'write' && body.scope !== 'read' && body.scope !== 'admin') {
        return json(res, 400, errorBody('validation_failed', 'scope: must be one of write, read, admin'));
      }
      const k = await createKey(cfg.db, body.scope, String(body.name ?? body.scope));
      return json(res, 201, k);
    }
    if (req.method === 'POST' && path === '/internal/v1/rebuild') {
      const t0 = Date.now();
      await runner.rebuild();
      return json(res, 200, { rebuilt: true, ms: Date.now() - t0 });
    }
    const m = /^\/internal\/v1\/keys\/([A-Za-z0-9_]+)$/.exec(path);
    if (req.method === 'DELETE' && m) {
      const { rows: target } = await cfg.db.query<{ scope: string; revoked_at: Date | null }>('SELECT scope, revoked_at FROM api_keys WHERE id = $1', [m[1]]);
      if (!target[0]) return json(res, 404, errorBody('not_found', `no API key ${m[1]}`));
      if (target[0].scope === 'admin' && target[0].revoked_at === null) {
        const { rows } = await cfg.db.query<{ n: string }>("SELECT count(*)::text AS n FROM api_keys WHERE scope = 'admin' AND revoked_at IS NULL");
        if (Number(rows[0]?.n ?? 0) <= 1) return json(res, 409, errorBody('conflict', 'refusing to revoke the last active admin key'));
      }
      const { rows } = await cfg.db.query<any>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [m[1]]);
      return json(res, 200, toKeyRecord(rows[0]));
    }
    return json(res, 404, errorBody('not_found', `no control route ${req.method} ${path}`));
  } catch (err) {
    if (err instanceof SyntaxError) return json(res, 400, errorBody('invalid_json', err.message));
    return json(res, 500, errorBody('internal', (err as Error).message));
  }
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((ok, fail) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) fail(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}
