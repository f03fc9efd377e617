// What `tinycdp seed` creates: the seed README's definitions and deterministic synthetic events. Pure.

export type SeedKind = 'trait' | 'segment' | 'flag';

export interface SeedDefinition {
  readonly kind: SeedKind;
  readonly key: string;
  /** The trait expression, or the segment / flag rule. */
  readonly source: string;
}

/**
 * In creation order: every definition comes after the ones it references (traits, then segments
 * reading traits, then flags reading segments and traits).
 */
export const SEED_DEFINITIONS: readonly SeedDefinition[] = [
  { kind: 'trait', key: 'frequent_buyer', source: 'events.purchase.count_30d >= 3' },
  { kind: 'trait', key: 'total_spent', source: 'events.purchase.sum(properties.amount, 90d)' },
  { kind: 'trait', key: 'recent_buyer', source: 'events.purchase.count_30d >= 1' },
  { kind: 'trait', key: 'power_user', source: 'events.app_open.unique_days_14d >= 5' },
  { kind: 'trait', key: 'active_today', source: 'last_seen_minutes_ago < 1440' },
  { kind: 'segment', key: 'vip_users', source: 'frequent_buyer == true' },
  { kind: 'segment', key: 'recent_buyers', source: 'recent_buyer == true' },
  { kind: 'segment', key: 'power_users', source: 'power_user == true' },
  { kind: 'segment', key: 'high_value', source: 'trait("total_spent") >= 500' },
  { kind: 'segment', key: 'premium_plan', source: 'profile.plan in ["premium", "enterprise"]' },
  { kind: 'segment', key: 'engaged_buyers', source: 'events.purchase.count_30d >= 1 && events.app_open.count_7d >= 3' },
  { kind: 'flag', key: 'premium_features', source: 'segment("vip_users")' },
  { kind: 'flag', key: 'new_checkout', source: 'segment("recent_buyers") && segment("high_value")' },
  { kind: 'flag', key: 'big_spender_perks', source: 'trait("total_spent") >= 500' },
  { kind: 'flag', key: 'vip_badge', source: 'trait("frequent_buyer") == true' },
];

/** The admin API body for a definition: traits `{key, expression}`, segments and flags `{key, rule}`. */
export function definitionBody(d: SeedDefinition): Record<string, string> {
  return d.kind === 'trait' ? { key: d.key, expression: d.source } : { key: d.key, rule: d.source };
}

/** The source stored on the server for a definition view (flags: the first rule's `when`). */
export function sourceOfView(kind: SeedKind, view: unknown): string | null {
  const v = view as { expression?: unknown; rule?: unknown; rules?: { when?: unknown }[] } | null;
  if (!v) return null;
  if (kind === 'trait') return typeof v.expression === 'string' ? v.expression : null;
  if (kind === 'segment') return typeof v.rule === 'string' ? v.rule : null;
  if (typeof v.rule === 'string') return v.rule;
  const when = Array.isArray(v.rules) && v.rules.length === 1 ? v.rules[0]?.when : undefined;
  return typeof when === 'string' ? when : null;
}

/** mulberry32: small, fast, good enough for synthetic data; deterministic for a given seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from several integers (so every (user, day) gets its own stream). */
function mix(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h ^= p >>> 0;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995) >>> 0;
  }
  return h >>> 0;
}

export type SeedMessage = Record<string, unknown> & {
  readonly type: 'identify' | 'track' | 'page';
  readonly userId: string;
  readonly messageId: string;
  readonly timestamp: string;
};

export interface SeedEventOptions {
  readonly users: number;
  readonly days: number;
  /** Events are spread over [now − days·24h, now]. */
  readonly now: number;
  readonly seed: number;
}

type Archetype = 'whale' | 'regular' | 'browser';

interface SeedUser {
  readonly id: string;
  readonly index: number;
  readonly archetype: Archetype;
  readonly plan: string;
  /** Probability of being active on a given day. */
  readonly activity: number;
}

const DAY_MS = 86_400_000;
const PAGES = ['/', '/pricing', '/docs', '/blog', '/checkout', '/account'];
const PLATFORMS = ['ios', 'android', 'web'];
const FIRST_NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Alan', 'Radia'];

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

export function seedUserId(index: number, users: number): string {
  return `user_${String(index + 1).padStart(Math.max(4, String(users).length), '0')}`;
}

function makeUser(index: number, o: SeedEventOptions): SeedUser {
  const r = rng(mix(o.seed, index, 0x5eed));
  const x = r();
  const archetype: Archetype = x < 0.15 ? 'whale' : x < 0.5 ? 'regular' : 'browser';
  const p = r();
  // Big spenders lean towards paid plans.
  const plan =
    archetype === 'whale'
      ? p < 0.3 ? 'pro' : p < 0.7 ? 'premium' : 'enterprise'
      : p < 0.55 ? 'free' : p < 0.8 ? 'pro' : p < 0.93 ? 'premium' : 'enterprise';
  const activity = archetype === 'whale' ? 0.5 + r() * 0.4 : archetype === 'regular' ? 0.2 + r() * 0.4 : 0.05 + r() * 0.35;
  return { id: seedUserId(index, o.users), index, archetype, plan, activity };
}

/**
 * One user's events of one day (`day` 0 = the 24 h before `now`, `days − 1` the oldest), sorted by time.
 * The oldest day starts with the user's `identify` (plan, email, name).
 */
function dayEvents(u: SeedUser, day: number, o: SeedEventOptions): SeedMessage[] {
  const r = rng(mix(o.seed, u.index, day + 1));
  const start = o.now - (day + 1) * DAY_MS;
  const at = () => start + Math.floor(r() * DAY_MS);
  const out: { t: number; m: Omit<SeedMessage, 'timestamp' | 'messageId'> }[] = [];
  if (day === o.days - 1) {
    out.push({
      t: start,
      m: {
        type: 'identify',
        userId: u.id,
        traits: { plan: u.plan, email: `${u.id}@example.com`, name: `${pick(r, FIRST_NAMES)} ${u.index + 1}` },
      },
    });
  }
  if (r() < u.activity) {
    const platform = pick(r, PLATFORMS);
    const opens = 1 + Math.floor(r() * 3);
    for (let i = 0; i < opens; i++) out.push({ t: at(), m: { type: 'track', userId: u.id, event: 'app_open', properties: { platform } } });
    const pages = Math.floor(r() * 4);
    for (let i = 0; i < pages; i++) {
      const path = pick(r, PAGES);
      out.push({ t: at(), m: { type: 'page', userId: u.id, name: path === '/' ? 'Home' : path.slice(1), properties: { path } } });
    }
    const buyChance = u.archetype === 'whale' ? 0.35 : u.archetype === 'regular' ? 0.08 : 0;
    if (r() < buyChance) {
      const [lo, hi] = u.archetype === 'whale' ? [40, 400] : [10, 120];
      const amount = Math.round((lo + r() * (hi - lo)) * 100) / 100;
      out.push({ t: at(), m: { type: 'track', userId: u.id, event: 'purchase', properties: { amount, currency: 'USD' } } });
    }
  }
  out.sort((a, b) => a.t - b.t);
  return out.map((e, i) => ({
    ...e.m,
    timestamp: new Date(e.t).toISOString(),
    messageId: `seed-${o.seed}-${u.index}-${day}-${i}`,
  })) as SeedMessage[];
}

/**
 * Synthetic events, oldest day first (each day's events in time order), generated lazily so any
 * number of users fits in memory. Same options → same events (ids included).
 */
export function* seedEvents(o: SeedEventOptions): Generator<SeedMessage> {
  const users = Array.from({ length: o.users }, (_, i) => makeUser(i, o));
  for (let day = o.days - 1; day >= 0; day--) {
    const todays = users.flatMap((u) => dayEvents(u, day, o));
    todays.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
    yield* todays;
  }
}

/** How many events `seedEvents(o)` yields (generates them; cheap next to sending them). */
export function countSeedEvents(o: SeedEventOptions): number {
  let n = 0;
  for (const _ of seedEvents(o)) n++;
  return n;
}

/**
 * Groups messages into batches of at most `maxItems` and about `maxBytes` of JSON (the ingest
 * limits are 2,500 items and 500 KB per /v1/batch).
 */
export function* batches<T>(items: Iterable<T>, maxItems: number, maxBytes = 450 * 1024): Generator<T[]> {
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    const size = Buffer.byteLength(JSON.stringify(it)) + 1;
    if (cur.length > 0 && (cur.length >= maxItems || bytes + size > maxBytes)) {
      yield cur;
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += size;
  }
  if (cur.length > 0) yield cur;
}
