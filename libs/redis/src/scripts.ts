import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

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

type EvalClient = Redis & {
  evalsha(sha: string, numKeys: number, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
};

/**
 * EVALSHA of one of our scripts, with EVAL when Redis does not have it cached (NOSCRIPT: first use, or
 * after a restart or SCRIPT FLUSH). The processor's per-profile path: unlike the commands `withScripts`
 * defines, it takes keys and arguments as arrays (no spread of every argument into new arrays, no
 * wrapper closure per call), which shows at thousands of calls per batch.
 */
export async function runScript(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const client = redis as EvalClient;
  try {
    // ioredis flattens array arguments one level deep.
    return await client.evalsha(sha(name), keys.length, keys, args);
  } catch (err) {
    if (!String((err as Error)?.message).includes('NOSCRIPT')) throw err;
    // The Redis EVAL command with our own bundled Lua source (src/lua/), never user input.
    return client.call('EVAL', source(name), keys.length, ...keys, ...args);
  }
}
