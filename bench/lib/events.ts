/**
 * Deterministic synthetic Segment messages for the scenarios: a realistic mix (identify with plan,
 * purchase with amount, app_open, page views) with a typical SDK `context`, and a fast producer that
 * pre-loads them into a topic (key = userId, as ingest writes them).
 */
import type { Producer } from 'kafkajs';

/** Small seeded PRNG (LCG) so every run produces the same workload. */
export function rng(seed = 42): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const CONTEXT = Object.freeze({
  library: { name: 'analytics-node', version: '2.1.0' },
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  locale: 'en-US',
});

const PLANS = ['free', 'free', 'premium', 'enterprise', 'trial'];

export interface Message {
  readonly key: string;
  readonly value: Record<string, unknown>;
}

/** One message of the mix for `userId` at `ts` (ms). `messageId` unique when `id` is given. */
export function mixedMessage(rnd: () => number, userId: string, ts: number, id?: string): Record<string, unknown> {
  const r = rnd();
  const base: Record<string, unknown> = { userId, timestamp: new Date(ts).toISOString(), context: CONTEXT };
  if (id !== undefined) base['messageId'] = id;
  if (r < 0.05) return { ...base, type: 'identify', traits: { plan: PLANS[Math.floor(rnd() * PLANS.length)], email: `${userId}@example.com` } };
  if (r < 0.2) {
    return { ...base, type: 'track', event: 'purchase', properties: { amount: Math.round(rnd() * 300 * 100) / 100, currency: 'USD', sku: `sku-${Math.floor(rnd() * 500)}` } };
  }
  if (r < 0.8) return { ...base, type: 'track', event: 'app_open', properties: { screen: 'home' } };
  return { ...base, type: 'page', name: 'Product', properties: { path: `/p/${Math.floor(rnd() * 1000)}`, title: 'Product page' } };
}

/**
 * `n` messages over `users` users (round robin with jitter), timestamps spread over the last `spanMs`
 * ending at `now`, messageIds `<idPrefix><i>`.
 */
export function mixedWorkload(n: number, users: number, now: number, spanMs: number, idPrefix: string, seed = 7): Message[] {
  const rnd = rng(seed);
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    const userId = `u${Math.floor(rnd() * users)}`;
    const ts = now - spanMs + Math.floor((i / n) * spanMs);
    out.push({ key: userId, value: mixedMessage(rnd, userId, ts, `${idPrefix}${i}`) });
  }
  return out;
}

/** Produces messages (acks = all) in sendBatch chunks; resolves when all are acked. */
export async function preload(producer: Producer, topic: string, messages: readonly Message[], chunk = 2_000): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk) {
    const part = messages.slice(i, i + chunk);
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        {
          topic,
          messages: part.map((m) => ({ key: m.key, value: JSON.stringify(m.value), headers: { 'content-type': 'application/json' } })),
        },
      ],
    });
  }
}
