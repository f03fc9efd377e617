/**
 * The seed README's curl walk-through (track → trait → segment → flag → decide), over HTTP against a
 * running TinyCDP. Used by the end-to-end tests on both the embedded and the real-backend stack.
 */
export interface WalkthroughResult {
  readonly decisions: { readonly afterOne: unknown; readonly afterThree: unknown };
}

async function call(base: string, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json: json as any };
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

/** Runs the walk-through for `userId`; throws with the failing step on any unexpected answer. */
export async function runSeedWalkthrough(base: string, key: string, userId = 'user123'): Promise<WalkthroughResult> {
  const expect = (step: string, r: { status: number; json: any }, status: number | number[]) => {
    const ok = Array.isArray(status) ? status.includes(r.status) : r.status === status;
    if (!ok) throw new Error(`${step}: expected HTTP ${status}, got ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  // 2. Track user events (the seed's exact body)
  expect('track', await call(base, key, 'POST', '/v1/track', { externalId: userId, event: 'purchase', props: { amount: 99.99 } }), 200);
  // 3-5. Trait, segment, flag (the seed's exact bodies); 409 when a previous run created them.
  expect('trait', await call(base, key, 'POST', '/v1/admin/traits', { key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3' }), [201, 409]);
  expect('segment', await call(base, key, 'POST', '/v1/admin/segments', { key: 'vip_users', rule: 'frequent_buyer == true' }), [201, 409]);
  expect('flag', await call(base, key, 'POST', '/v1/admin/flags', { key: 'premium_features', rule: 'segment("vip_users")' }), [201, 409]);
  // 6. Decide: one purchase is not "frequent" yet.
  const decide = () => call(base, key, 'GET', `/v1/decide?userId=${encodeURIComponent(userId)}&flag=premium_features`);
  const afterOne = await until(decide, (r) => r.status === 200, 'the flag to be live in decide');
  if (afterOne.json.enabled !== false) throw new Error(`decide after one purchase: expected enabled false, got ${JSON.stringify(afterOne.json)}`);
  for (let i = 0; i < 2; i++) {
    expect('track', await call(base, key, 'POST', '/v1/track', { externalId: userId, event: 'purchase', props: { amount: 99.99 } }), 200);
  }
  const afterThree = await until(decide, (r) => r.status === 200 && r.json.enabled === true, 'premium_features to turn on after three purchases');
  return { decisions: { afterOne: afterOne.json, afterThree: afterThree.json } };
}
