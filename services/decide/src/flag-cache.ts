/**
 * The definitions decide evaluates with, kept in memory: loaded from the Redis definitions hash at
 * start, reloaded on every change notice (pub/sub, debounced) and every 30 s as a safety net. The
 * compiled plan is swapped atomically, so a request always sees one consistent snapshot and never
 * compiles or parses definitions itself.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '@tinycdp/common';
import { buildPlan, type FlagDefinition, type Plan, type PlanProblem } from '@tinycdp/engine';
import type { RedisKeys } from '@tinycdp/redis';
import { parseDefinitions } from './definitions';
import type { DecideMetrics } from './metrics';

export interface FlagSnapshot {
  readonly plan: Plan;
  /** Every live flag definition, including those whose rules do not compile (they answer default/ERROR). */
  readonly flags: ReadonlyMap<string, FlagDefinition>;
  /** Flag keys, sorted: the order of "every flag" answers. */
  readonly flagKeys: readonly string[];
  /** Digest of the definitions' versions (changes iff a definition changed). */
  readonly etag: string;
  readonly problems: readonly PlanProblem[];
  /** When this snapshot was last confirmed against Redis (ms). */
  readonly loadedAt: number;
  /**
   * True when Redis lost its data: the definitions hash came back completely empty after definitions
   * had been loaded (deletions leave tombstones, so an empty hash is never the result of edits), or the
   * state epoch marker (libs/redis `keys.epoch()`) that was there before is gone — which still tells
   * when a restarted processor has written the definitions again into the emptied Redis. The last
   * snapshot is kept and decisions answer defaults with reason ERROR until the state is rebuilt (a
   * rebuild writes a marker again).
   */
  readonly stateLost: boolean;
}

/**
 * Port: where definitions come from. Redis (the materialized hash + pub/sub notices) in production,
 * the in-memory definition cache in embedded mode.
 */
export interface DefinitionFeed {
  /** Every materialized definition, field `<kind>:<key>` → JSON. May throw (the cache keeps its snapshot). */
  load(): Promise<Record<string, string>>;
  /** The state epoch marker (null when absent); feeds without one (embedded) leave it out. May throw. */
  epoch?(): Promise<string | null>;
  /** Starts listening; `onNotice` is called on each change notice (and whenever notices may have been lost). */
  listen(onNotice: () => void): void;
  /** Resolves when the source is reachable, or after `ms`. Never throws. */
  ready(ms: number): Promise<void>;
  close(): void;
}

export interface FlagCacheOptions {
  /** The source; default: the Redis definitions hash and channel of `redis` + `keys`. */
  readonly feed?: DefinitionFeed;
  readonly redis?: Redis;
  readonly keys?: RedisKeys;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: DecideMetrics;
  /** Notices arriving within this window cause one reload (default 50 ms; keep ≤ 100 ms). */
  readonly debounceMs?: number;
  /** Full reload period, the safety net for lost notices (default 30 s). */
  readonly fullReloadMs?: number;
  /** Retry period while no definitions could be loaded yet (default 1 s). */
  readonly retryMs?: number;
  /** Bound on one HGETALL of the definitions (default 2 s). */
  readonly loadTimeoutMs?: number;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The Redis feed: HGETALL of the definitions hash; notices on the definitions channel through a
 * dedicated subscriber connection that keeps its offline queue and retries forever (unlike decide's
 * request connection): it must come back by itself, and nothing waits on it.
 */
export function redisDefinitionFeed(redis: Redis, keys: RedisKeys, log: Logger): DefinitionFeed {
  let sub: Redis | null = null;
  return {
    load: () => redis.hgetall(keys.definitions()),
    epoch: () => redis.get(keys.epoch()),
    ready: (ms) => whenReady(redis, ms),
    listen(onNotice) {
      const channel = keys.definitionsChannel();
      sub = redis.duplicate({
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
        enableAutoPipelining: false,
        lazyConnect: false,
      });
      sub.on('error', (err) => log.debug({ err: err.message }, 'definitions_subscriber_error'));
      sub.on('message', (ch: string) => {
        if (ch === channel) onNotice();
      });
      let everReady = false;
      sub.on('ready', () => {
        // Notices sent while we were disconnected are lost: reload after every reconnect.
        if (everReady) onNotice();
        everReady = true;
      });
      sub.subscribe(channel).catch((err: Error) => log.warn({ err: err.message }, 'definitions_subscribe_failed'));
    },
    close() {
      sub?.disconnect();
      sub = null;
    },
  };
}

function hasDefinitions(s: FlagSnapshot): boolean {
  return s.flags.size > 0 || s.plan.traits.length > 0 || s.plan.segments.length > 0;
}

/** Resolves when `redis` is connected (or immediately if it is), or after `ms` (then the caller's command fails). */
function whenReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.on('ready', done);
  });
}

export class FlagCache {
  private current: FlagSnapshot | null = null;
  private readonly feed: DefinitionFeed;
  private debounce: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private inflight: Promise<boolean> | null = null;
  private again = false;
  private closed = false;
  private readonly debounceMs: number;
  private readonly fullReloadMs: number;
  private readonly retryMs: number;
  private readonly loadTimeoutMs: number;
  private readonly log: Logger;
  /** The epoch marker last seen (null: none seen yet, e.g. decide-only setups without a processor). */
  private epochSeen: string | null = null;

  constructor(private readonly opts: FlagCacheOptions) {
    this.debounceMs = Math.min(opts.debounceMs ?? 50, 100);
    this.fullReloadMs = opts.fullReloadMs ?? 30_000;
    this.retryMs = opts.retryMs ?? 1_000;
    this.loadTimeoutMs = opts.loadTimeoutMs ?? 2_000;
    this.log = opts.logger;
    if (opts.feed) this.feed = opts.feed;
    else if (opts.redis && opts.keys) this.feed = redisDefinitionFeed(opts.redis, opts.keys, opts.logger);
    else throw new Error('FlagCache needs a feed, or redis and keys');
  }

  /** The current snapshot; null until definitions were loaded once. */
  get snapshot(): FlagSnapshot | null {
    return this.current;
  }

  /** ETag of the current definitions ('' before the first load). */
  get etag(): string {
    return this.current?.etag ?? '';
  }

  /**
   * Subscribes to change notices and loads the definitions. Resolves after the first load attempt; when
   * it failed (Redis down), loading is retried in the background every `retryMs`. Never throws.
   */
  async start(): Promise<void> {
    this.feed.listen(() => this.schedule());
    this.periodic = setInterval(() => void this.reload(), this.fullReloadMs);
    this.periodic.unref();
    await this.feed.ready(this.loadTimeoutMs);
    const ok = await this.reload();
    if (!ok) this.scheduleRetry();
  }

  /** Coalesces notices: one reload `debounceMs` after the first notice of a burst. */
  schedule(): void {
    if (this.closed || this.debounce !== null) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.reload();
    }, this.debounceMs);
    this.debounce.unref();
  }

  /** Reloads every `retryMs` while nothing is loaded yet or the state is lost (until it is back). */
  private scheduleRetry(): void {
    if (this.closed || this.retry !== null || (this.current !== null && !this.current.stateLost)) return;
    this.retry = setTimeout(async () => {
      this.retry = null;
      const ok = await this.reload();
      if (!ok) this.scheduleRetry();
    }, this.retryMs);
    this.retry.unref();
  }

  /**
   * Reloads now (one at a time; a reload asked for during another runs once after it). Resolves true
   * when the snapshot is current, false when Redis failed (the previous snapshot stays). Never throws.
   */
  reload(): Promise<boolean> {
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    const run = async (): Promise<boolean> => {
      let ok = await this.loadOnce();
      while (this.again && !this.closed) {
        this.again = false;
        ok = await this.loadOnce();
      }
      return ok;
    };
    this.inflight = run().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async loadOnce(): Promise<boolean> {
    if (this.closed) return false;
    let raw: Record<string, string>;
    let epoch: string | null | undefined;
    try {
      [raw, epoch] = await timeout(Promise.all([this.feed.load(), this.feed.epoch?.()]), this.loadTimeoutMs, 'definitions load');
    } catch (err) {
      this.opts.metrics?.reloads.labels('error').inc();
      this.log.warn({ err: (err as Error).message }, 'definitions_load_failed');
      return false;
    }
    const now = this.opts.clock.now();
    const epochGone = epoch === null && this.epochSeen !== null;
    if (typeof epoch === 'string') this.epochSeen = epoch;
    const defsGone = Object.keys(raw).length === 0;
    if ((defsGone || epochGone) && this.current !== null && hasDefinitions(this.current)) {
      if (!this.current.stateLost) {
        this.log.error({ definitions_gone: defsGone, epoch_gone: epochGone }, 'definitions_lost_redis_state_missing');
      }
      this.current = Object.freeze({ ...this.current, stateLost: true, loadedAt: now });
      this.scheduleRetry();
      return true;
    }
    const parsed = parseDefinitions(raw);
    if (this.current !== null && parsed.etag === this.current.etag) {
      this.current = { ...this.current, loadedAt: now, stateLost: false };
      this.opts.metrics?.reloads.labels('unchanged').inc();
      return true;
    }
    for (const i of parsed.invalid) this.log.warn(i, 'definition_unreadable');
    const { plan, problems } = buildPlan(parsed.definitions);
    for (const p of problems) {
      this.log.warn({ kind: p.kind, key: p.key, diagnostics: p.diagnostics.map((d) => d.message) }, 'definition_excluded');
    }
    const flags = new Map<string, FlagDefinition>();
    for (const d of parsed.definitions) if (d.kind === 'flag') flags.set(d.key, d);
    this.current = Object.freeze({
      plan,
      flags,
      flagKeys: [...flags.keys()].sort(),
      etag: parsed.etag,
      problems,
      loadedAt: now,
      stateLost: false,
    });
    this.opts.metrics?.reloads.labels('changed').inc();
    this.opts.metrics?.flags.set(flags.size);
    this.log.info({ flags: flags.size, definitions: parsed.definitions.length, etag: parsed.etag }, 'definitions_loaded');
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of [this.debounce, this.retry]) if (t) clearTimeout(t);
    if (this.periodic) clearInterval(this.periodic);
    this.debounce = this.retry = this.periodic = null;
    this.feed.close();
    await this.inflight?.catch(() => undefined);
  }
}
