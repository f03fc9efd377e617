/**
 * Integration test fixtures for decide (not exported from the package; imported only by *.int.test.ts
 * and bench/decide.ts): seed definitions, profile states written the way the processor writes them,
 * an in-memory KeyVerifier (the key store is not what these tests are about), and the app built and
 * started the way the tests need it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock, type Json } from '@tinycdp/common';
import {
  applyEvents,
  buildPlan,
  emptyProfile,
  encodeProfile,
  type Definition,
  type FlagDefinition,
  type Plan,
  type ProfileState,
} from '@tinycdp/engine';
import type { CdpEvent } from '@tinycdp/events';
import type { KeyScope, KeyVerifier, Principal } from '@tinycdp/http';
import { RedisDefinitionCache, RedisProfileStore, redisKeys } from '@tinycdp/redis';
import { createDecideApp, decideRedisOptions, type DecideApp, type DecideDeps } from './app';

export class MemoryKeyVerifier implements KeyVerifier {
  private readonly keys = new Map<string, Principal>();
  add(secret: string, scope: KeyScope): this {
    this.keys.set(secret, { id: `k-${this.keys.size + 1}`, scope, name: scope });
    return this;
  }
  async verify(secret: string): Promise<Principal | null> {
    return this.keys.get(secret) ?? null;
  }
}

const trait = (key: string, expression: string): Definition => ({ kind: 'trait', key, expression, version: 1 });
const segment = (key: string, rule: string): Definition => ({ kind: 'segment', key, rule, version: 1 });
export const flag = (key: string, over: Partial<FlagDefinition> = {}): FlagDefinition => ({
  kind: 'flag',
  key,
  enabled: true,
  valueType: 'boolean',
  rules: [],
  default: false,
  version: 1,
  ...over,
});

/** The seed definitions plus flags of every value type and rule shape. */
export function seedDefinitions(): Definition[] {
  return [
    trait('frequent_buyer', 'events.purchase.count_30d >= 3'),
    trait('total_spent', 'events.purchase.sum(properties.amount, 90d)'),
    segment('vip_users', 'trait("frequent_buyer") == true'),
    segment('high_value', 'trait("total_spent") >= 500'),
    flag('premium_features', { rules: [{ when: 'segment("vip_users")', value: true }] }),
    flag('big_spender', { rules: [{ when: 'trait("total_spent") >= 500', value: true }] }),
    flag('new_checkout', {
      version: 7,
      rules: [
        { when: 'segment("vip_users") && segment("high_value")', value: true },
        { when: 'context.country == "DE"', value: true },
        { when: 'events.purchase.count_30d >= 1', value: true, rollout: 50 },
      ],
    }),
    flag('kill_switch', { enabled: false, default: true, rules: [{ when: 'true', value: false }] }),
    flag('banner_color', {
      valueType: 'string',
      default: 'gray',
      rules: [
        { when: 'profile.plan == "premium"', value: 'gold' },
        { when: 'context.country == "FR"', value: 'blue' },
      ],
    }),
    flag('discount_pct', { valueType: 'number', default: 0, rules: [{ when: 'segment("high_value")', value: 15 }] }),
    flag('checkout_config', {
      valueType: 'object',
      default: { steps: 3, express: false },
      rules: [{ when: 'segment("vip_users")', value: { steps: 1, express: true } }],
    }),
  ];
}

/** Writes definitions the way the processor materializes them (put-definition.lua, with a notice). */
export async function putDefinitions(redis: Redis, prefix: string, defs: readonly Definition[]): Promise<void> {
  const cache = new RedisDefinitionCache(redis, prefix);
  for (const d of defs) await cache.put(`${d.kind}:${d.key}`, d.version, JSON.stringify(d));
}

export function track(userId: string, event: string, at: number, properties: Record<string, Json> = {}): CdpEvent {
  const ts = new Date(at).toISOString();
  return {
    type: 'track',
    messageId: randomUUID(),
    userId,
    anonymousId: null,
    event,
    name: null,
    properties,
    traits: {},
    context: {},
    previousId: null,
    groupId: null,
    timestamp: ts,
    receivedAt: ts,
    sentAt: null,
    originalTimestamp: null,
  };
}

export function identify(userId: string, at: number, traits: Record<string, Json>): CdpEvent {
  return { ...track(userId, 'identify', at), type: 'identify', event: null, traits };
}

/** Builds a profile from events under `plan` and writes it as the processor does (codec fields, `_rev`, `_w`). */
export async function writeProfile(
  redis: Redis,
  prefix: string,
  plan: Plan,
  id: string,
  events: readonly CdpEvent[],
  now: number,
): Promise<ProfileState> {
  const state = applyEvents({ ...emptyProfile(id), userId: id }, events, plan, now);
  // Replaced whole, through the processor's write (apply-profile.lua: `_rev` and the write id `_w`).
  await redis.del(redisKeys(prefix).profile(id));
  const written = await new RedisProfileStore(redis, prefix).write({ id, expectedRev: 0, set: encodeProfile(state), del: [], messageIds: [], changes: [] }, now);
  if (!written.ok) throw new Error(`profile ${id} was written concurrently`);
  return state;
}

export function seedPlan(): Plan {
  const { plan, problems } = buildPlan(seedDefinitions());
  if (problems.length > 0) throw new Error(`seed definitions do not compile: ${JSON.stringify(problems)}`);
  return plan;
}

/**
 * The seed users: `vip` (4 purchases of 150 → frequent buyer, high value, premium plan), `buyer`
 * (1 small purchase), `newbie` (identify only).
 */
export async function writeSeedProfiles(redis: Redis, prefix: string, now: number): Promise<void> {
  const plan = seedPlan();
  const hour = 3_600_000;
  await writeProfile(redis, prefix, plan, 'vip', [
    identify('vip', now - 5 * hour, { plan: 'premium' }),
    ...[1, 2, 3, 4].map((i) => track('vip', 'purchase', now - i * hour, { amount: 150 })),
  ], now);
  await writeProfile(redis, prefix, plan, 'buyer', [track('buyer', 'purchase', now - hour, { amount: 20 })], now);
  await writeProfile(redis, prefix, plan, 'newbie', [identify('newbie', now - hour, { plan: 'free' })], now);
}

/** createDecideApp with what the tests do not vary: the system clock, a silent logger, a fresh registry. */
export function testDecideApp(deps: Omit<DecideDeps, 'clock' | 'logger' | 'registry'>): DecideApp {
  return createDecideApp({ clock: systemClock, logger: pino({ level: 'silent' }), registry: new Registry(), ...deps });
}

export interface SeededDecide {
  /** A plain connection for the test's own writes under the prefix. */
  readonly writer: Redis;
  readonly app: DecideApp;
  /** The URL the app listens on. */
  readonly base: string;
  /** Closes the app, deletes every key under the prefix and disconnects. */
  close(): Promise<void>;
}

/**
 * Decide on the shared Redis under `prefix`, with the seed definitions and seed profiles written, listening.
 * Generous budget (1 s): these tests check answers, not the outage path (outage.int.test.ts does), and a
 * busy CI box can stall a 50 ms read.
 */
export async function startSeededDecide(redisUrl: string, prefix: string, keys: KeyVerifier): Promise<SeededDecide> {
  const writer = new Redis(redisUrl);
  const reqRedis = new Redis(redisUrl, decideRedisOptions(1_000));
  let app: DecideApp | undefined;
  const close = async (): Promise<void> => {
    await app?.close();
    const stale = await writer.keys(`${prefix}*`);
    if (stale.length > 0) await writer.del(...stale);
    writer.disconnect();
    reqRedis.disconnect();
  };
  try {
    await putDefinitions(writer, prefix, seedDefinitions());
    await writeSeedProfiles(writer, prefix, Date.now());
    app = testDecideApp({ redis: reqRedis, keys, prefix, redisTimeoutMs: 1_000 });
    return { writer, app, base: (await app.listen()).url, close };
  } catch (err) {
    await close().catch(() => undefined); // the setup error is the one to report
    throw err;
  }
}
