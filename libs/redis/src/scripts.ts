import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';

/** Lua scripts shipped with this lib (src/lua/*.lua), registered on a client as custom commands. */
const SCRIPTS = {
  applyProfile: { file: 'apply-profile.lua', keys: 3 },
  loadProfile: { file: 'load-profile.lua', keys: 3 },
  putDefinition: { file: 'put-definition.lua', keys: 1 },
  acquireLease: { file: 'acquire-lease.lua', keys: 1 },
  releaseLease: { file: 'release-lease.lua', keys: 1 },
  saveCheckpoint: { file: 'save-checkpoint.lua', keys: 2 },
  // keys -1: the caller passes the number of keys first (one fence hash per series).
  claimFences: { file: 'claim-fences.lua', keys: -1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

const sources = new Map<ScriptName, string>();
function source(name: ScriptName): string {
  let s = sources.get(name);
  if (s === undefined) {
    s = readFileSync(new URL(`./lua/${SCRIPTS[name].file}`, import.meta.url), 'utf8');
    sources.set(name, s);
  }
  return s;
}

type ScriptClient = Redis & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

/** Defines our scripts on the client (EVALSHA with automatic fallback to EVAL). Idempotent. */
export function withScripts(redis: Redis): ScriptClient {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    if (typeof (redis as any)[name] !== 'function') {
      const keys: number = SCRIPTS[name].keys;
      redis.defineCommand(name, keys >= 0 ? { numberOfKeys: keys, lua: source(name) } : { lua: source(name) });
    }
  }
  return redis as ScriptClient;
}

const shas = new Map<ScriptName, string>();
function sha(name: ScriptName): string {
  let h = shas.get(name);
  if (h === undefined) {
    h = createHash('sha1').update(source(name)).digest('hex');
    shas.set(name, h);
  }
  return h;
}

type EvalTarget = { evalsha(sha: string, numKeys: number, keys: readonly string[], args: readonly (string | number)[]): unknown };

interface QueuedCall {
  /** Appends exactly one command to the pipeline. */
  readonly add: (pipeline: ChainableCommander) => void;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  /** Instead of rejecting with `err`: a second chance (a NOSCRIPT reply). */
  readonly retry?: (err: Error) => Promise<unknown> | null;
}

/**
 * The commands one client issues through `pipelined` in one tick, sent as one pipeline (one socket
 * write). Unlike ioredis' enableAutoPipelining, which keeps one auto-pipeline in flight per client and
 * queues every later command until its last reply is in, any number of these pipelines may be in
 * flight: a batch's loads are not held up behind another batch's writes on the same connection.
 */
class TickPipeliner {
  private queue: QueuedCall[] = [];

  constructor(private readonly redis: Redis) {}

  call(add: QueuedCall['add'], retry?: QueuedCall['retry']): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(() => this.flush());
      this.queue.push({ add, resolve, reject, ...(retry ? { retry } : {}) });
    });
  }

  private flush() {
    const calls = this.queue;
    this.queue = [];
    const pipeline = this.redis.pipeline();
    for (const c of calls) c.add(pipeline);
    pipeline.exec().then(
      (results) => {
        for (let i = 0; i < calls.length; i++) {
          const c = calls[i]!;
          const [err, value] = results?.[i] ?? [new Error('no reply in pipeline'), null];
          if (!err) c.resolve(value);
          else {
            const again = c.retry?.(err);
            if (again) again.then(c.resolve, c.reject);
            else c.reject(err);
          }
        }
      },
      (err: unknown) => {
        for (const c of calls) c.reject(err);
      },
    );
  }
}

const pipeliners = new WeakMap<Redis, TickPipeliner>();

/** One command, sent in the pipeline of this tick's `pipelined` commands of `redis` (TickPipeliner). */
export function pipelined(redis: Redis, add: (pipeline: ChainableCommander) => void, retry?: QueuedCall['retry']): Promise<unknown> {
  let p = pipeliners.get(redis);
  if (!p) pipeliners.set(redis, (p = new TickPipeliner(redis)));
  return p.call(add, retry);
}

/**
 * EVALSHA of one of our scripts (EVAL when Redis does not have it cached: first use, a restart or
 * SCRIPT FLUSH), pipelined with the other `pipelined` commands of the tick. The processor's per-profile
 * path: keys and arguments go as arrays (ioredis flattens them one level deep), with no spread of every
 * argument into new arrays, which shows at thousands of calls per batch.
 */
export function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  return pipelined(
    redis,
    (p) => (p as unknown as EvalTarget).evalsha(sha(name), keys.length, keys, args),
    // Our bundled Lua source (src/lua/), never user input.
    (err) => (String(err.message).includes('NOSCRIPT') ? redis.call('EVAL', source(name), keys.length, ...keys, ...args) : null),
  );
}
