import { createIsolatedSchema, getServices } from '@tinycdp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './internal/test-app';

// Bodies exactly as in the seed README's curl examples (-d '…').
const SEED_TRAIT = `{
    "key": "frequent_buyer",
    "expression": "events.purchase.count_30d >= 3"
  }`;
const SEED_SEGMENT = `{
    "key": "vip_users", 
    "rule": "frequent_buyer == true"
  }`;
const SEED_FLAG = `{
    "key": "premium_features",
    "rule": "segment(\\"vip_users\\")"
  }`;

interface OutboxRow {
  id: string;
  topic_key: string;
  payload: any;
  published_at: Date | null;
}

describe('admin definitions API (real Postgres)', () => {
  let t: TestAdmin;
  const outbox = async () =>
    (await t.db.query<OutboxRow>('SELECT id, topic_key, payload, published_at FROM outbox ORDER BY id')).rows;

  beforeAll(async () => {
    t = await startTestAdmin(getServices().databaseUrl, await createIsolatedSchema(getServices().databaseUrl));
  });
  afterAll(async () => {
    await t.close();
  });

  it('accepts the seed curl bodies verbatim', async () => {
    const tr = await t.call('POST', '/v1/admin/traits', SEED_TRAIT);
    expect(tr.status).toBe(201);
    expect(tr.headers.get('etag')).toBe('"1"');
    expect(tr.headers.get('location')).toBe('/v1/admin/traits/frequent_buyer');
    expect(tr.body).toMatchObject({ kind: 'trait', key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3', version: 1, status: 'live' });

    const sg = await t.call('POST', '/v1/admin/segments', SEED_SEGMENT);
    expect(sg.status).toBe(201);
    expect(sg.body).toMatchObject({ kind: 'segment', key: 'vip_users', rule: 'frequent_buyer == true', version: 1 });

    const fl = await t.call('POST', '/v1/admin/flags', SEED_FLAG);
    expect(fl.status).toBe(201);
    expect(fl.body).toMatchObject({
      kind: 'flag',
      key: 'premium_features',
      enabled: true,
      valueType: 'boolean',
      rules: [{ when: 'segment("vip_users")', value: true }],
      default: false,
      version: 1,
    });
    expect(t.notifications).toBe(3);

    const rows = await outbox();
    expect(rows.map((r) => r.topic_key)).toEqual(['trait:frequent_buyer', 'segment:vip_users', 'flag:premium_features']);
    expect(rows[0]!.payload).toEqual({ kind: 'trait', key: 'frequent_buyer', expression: 'events.purchase.count_30d >= 3', version: 1 });
    expect(rows[2]!.payload).toMatchObject({ kind: 'flag', key: 'premium_features', version: 1, rules: [{ when: 'segment("vip_users")', value: true }] });
  });

  it('gets one definition with its ETag, 404 for unknown keys', async () => {
    const r = await t.call('GET', '/v1/admin/segments/vip_users');
    expect(r.status).toBe(200);
    expect(r.headers.get('etag')).toBe('"1"');
    expect(r.body.rule).toBe('frequent_buyer == true');
    const missing = await t.call('GET', '/v1/admin/segments/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
  });

  it('accepts every seed expression form', async () => {
    const traits = [
      ['t_count', 'events.purchase.count_30d >= 1'],
      ['t_days', 'events.app_open.unique_days_14d >= 5'],
      ['t_seen', 'last_seen_minutes_ago < 1440'],
      ['t_plan', 'profile.plan in ["premium", "enterprise"]'],
      ['t_combo', 'events.purchase.count_30d >= 1 && events.app_open.count_7d >= 3'],
      ['total_spent', 'events.purchase.count_30d'],
      ['t_bracket', 'events["Order Completed"].count_30d >= 1'],
    ];
    for (const [key, expression] of traits) {
      const r = await t.call('POST', '/v1/admin/traits', { key, expression });
      expect(r.status, `${key}: ${JSON.stringify(r.body)}`).toBe(201);
    }
    expect((await t.call('POST', '/v1/admin/segments', { key: 'high_value', rule: 'trait("total_spent") >= 500' })).status).toBe(201);
    for (const [key, rule] of [
      ['f_both', 'segment("vip_users") && segment("high_value")'],
      ['f_trait', 'trait("frequent_buyer") == true'],
      ['f_spent', 'trait("total_spent") >= 500'],
      ['f_bare', 'frequent_buyer == true'],
    ]) {
      const r = await t.call('POST', '/v1/admin/flags', { key, rule });
      expect(r.status, `${key}: ${JSON.stringify(r.body)}`).toBe(201);
    }
  });

  it('lists with cursor pagination in key order', async () => {
    const first = await t.call('GET', '/v1/admin/traits?limit=3');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(3);
    const keys: string[] = first.body.items.map((i: any) => i.key);
    let cursor = first.body.nextCursor;
    while (cursor) {
      const next = await t.call('GET', `/v1/admin/traits?limit=3&cursor=${cursor}`);
      keys.push(...next.body.items.map((i: any) => i.key));
      cursor = next.body.nextCursor;
    }
    expect(keys).toEqual([...keys].sort());
    expect(keys).toHaveLength(8);
    expect((await t.call('GET', '/v1/admin/traits?limit=0')).status).toBe(400);
    const badCursor = await t.call('GET', '/v1/admin/traits?cursor=zzz');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.error.details.field).toBe('cursor');
  });

  it('400 validation_failed with every diagnostic and the requirements', async () => {
    const r = await t.call('POST', '/v1/admin/segments', { key: 'broken', rule: 'events.purchase.count_30d >= 1 && nope == 1' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    const d = r.body.error.details;
    expect(d.field).toBe('rule');
    expect(d.diagnostics.length).toBeGreaterThan(0);
    for (const diag of d.diagnostics) {
      expect(Object.keys(diag)).toEqual(expect.arrayContaining(['code', 'message', 'line', 'column', 'offset', 'length', 'rendered']));
    }
    expect(d.diagnostics[0]).toMatchObject({ code: 'unknown_name', line: 1, column: 35, offset: 34, length: 4 });
    expect(d.requirements).toBeNull(); // even the lenient compile fails on an unknown bare name

    const syntax = await t.call('POST', '/v1/admin/traits', { key: 'broken', expression: 'events.purchase.count_30d >= ' });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error.details.diagnostics[0].code).toBe('unexpected_end');

    const notBool = await t.call('POST', '/v1/admin/segments', { key: 'broken', rule: 'trait("total_spent")' });
    expect(notBool.status).toBe(400);
    expect(notBool.body.error.details.requirements).toMatchObject({ traits: ['total_spent'] });

    const flagRule = await t.call('POST', '/v1/admin/flags', {
      key: 'broken',
      rules: [{ when: 'true', value: true }, { when: 'segment("ghost")', value: true }],
    });
    expect(flagRule.status).toBe(400);
    expect(flagRule.body.error.details.field).toBe('rules[1].when');
    expect(flagRule.body.error.details.diagnostics[0].code).toBe('unknown_segment');
  });

  it('400 naming the field for bad keys and bodies', async () => {
    for (const [body, field] of [
      [{ key: 'Bad-Key', expression: 'true' }, 'key'],
      [{ key: 'events', expression: 'true' }, 'key'],
      [{ key: 'ok_key' }, 'expression'],
      [{ key: 'ok_key', expression: 'true', extra: 1 }, '(body)'],
    ] as const) {
      const r = await t.call('POST', '/v1/admin/traits', body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.details.field).toBe(field);
    }
    const invalidJson = await t.call('POST', '/v1/admin/traits', '{"key": ');
    expect(invalidJson.status).toBe(400);
    expect(invalidJson.body.error.code).toBe('invalid_json');
  });

  it('409 on creating an existing key; nothing is written', async () => {
    const before = (await outbox()).length;
    const r = await t.call('POST', '/v1/admin/traits', SEED_TRAIT);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('conflict');
    expect((await outbox()).length).toBe(before);
  });

  it('PUT with If-Match / body version; 412 on a stale version; history of every change', async () => {
    const ok = await t.call('PUT', '/v1/admin/traits/frequent_buyer', { expression: 'events.purchase.count_30d >= 2' }, { 'if-match': '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    expect(ok.body).toMatchObject({ expression: 'events.purchase.count_30d >= 2', version: 2 });

    const stale = await t.call('PUT', '/v1/admin/traits/frequent_buyer', { expression: 'events.purchase.count_30d >= 5' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toMatchObject({ code: 'precondition_failed', details: { currentVersion: 2 } });

    const staleBody = await t.call('PUT', '/v1/admin/traits/frequent_buyer', { expression: 'events.purchase.count_30d >= 5', version: 1 });
    expect(staleBody.status).toBe(412);
    const byBody = await t.call('PUT', '/v1/admin/traits/frequent_buyer', { expression: 'events.purchase.count_30d >= 4', version: 2 });
    expect(byBody.status).toBe(200);
    expect(byBody.body.version).toBe(3);

    const unconditional = await t.call('PUT', '/v1/admin/flags/premium_features', { rule: 'segment("vip_users") && segment("high_value")' });
    expect(unconditional.status).toBe(200);
    expect(unconditional.body.version).toBe(2);

    const missing = await t.call('PUT', '/v1/admin/traits/nope', { expression: 'true' });
    expect(missing.status).toBe(404);
    const keyMismatch = await t.call('PUT', '/v1/admin/traits/frequent_buyer', { key: 'other', expression: 'true' });
    expect(keyMismatch.status).toBe(400);

    const h = await t.call('GET', '/v1/admin/traits/frequent_buyer/history');
    expect(h.status).toBe(200);
    expect(h.body.items.map((e: any) => [e.version, e.op])).toEqual([
      [1, 'create'],
      [2, 'update'],
      [3, 'update'],
    ]);
    expect(h.body.items[2].definition.expression).toBe('events.purchase.count_30d >= 4');
    expect(h.body.items[0].actor).toMatch(/^key_/);
    expect((await t.call('GET', '/v1/admin/traits/nope/history')).status).toBe(404);
  });

  it('refuses reference cycles and changes that break dependents', async () => {
    expect((await t.call('POST', '/v1/admin/traits', { key: 'cyc_a', expression: 'total_spent + 1' })).status).toBe(201);
    expect((await t.call('POST', '/v1/admin/traits', { key: 'cyc_b', expression: 'cyc_a + 1' })).status).toBe(201);
    const cycle = await t.call('PUT', '/v1/admin/traits/cyc_a', { expression: 'cyc_b + 1' });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.code).toBe('validation_failed');
    expect(cycle.body.error.details.cycle).toEqual(['trait:cyc_a', 'trait:cyc_b', 'trait:cyc_a']);

    const self = await t.call('PUT', '/v1/admin/traits/cyc_a', { expression: 'cyc_a + 1' });
    expect(self.status).toBe(400);

    // cyc_b = cyc_a + 1 needs a number; turning cyc_a into a string breaks it.
    const breaking = await t.call('PUT', '/v1/admin/traits/cyc_a', { expression: 'profile.plan' });
    expect([200, 409]).toContain(breaking.status); // profile.* is typed `any` by the checker
    const breaking2 = await t.call('PUT', '/v1/admin/traits/cyc_a', { expression: '"text"' });
    expect(breaking2.status).toBe(409);
    expect(breaking2.body.error.details.usedBy[0]).toMatchObject({ kind: 'trait', key: 'cyc_b' });
  });

  it('DELETE: 409 while in use (listing users), 412 on stale If-Match, tombstone in the outbox, versions continue', async () => {
    const inUse = await t.call('DELETE', '/v1/admin/traits/frequent_buyer');
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.details.usedBy).toEqual(
      expect.arrayContaining([
        { kind: 'segment', key: 'vip_users' },
        { kind: 'flag', key: 'f_bare' },
      ]),
    );

    const stale = await t.call('DELETE', '/v1/admin/flags/f_spent', undefined, { 'if-match': '"7"' });
    expect(stale.status).toBe(412);
    const del = await t.call('DELETE', '/v1/admin/flags/f_spent', undefined, { 'if-match': '"1"' });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ kind: 'flag', key: 'f_spent', version: 2, deleted: true });
    expect((await t.call('GET', '/v1/admin/flags/f_spent')).status).toBe(404);
    expect((await t.call('DELETE', '/v1/admin/flags/f_spent')).status).toBe(404);

    const rows = await outbox();
    const last = rows[rows.length - 1]!;
    expect(last).toMatchObject({ topic_key: 'flag:f_spent', payload: null });

    const again = await t.call('POST', '/v1/admin/flags', { key: 'f_spent', rule: 'trait("total_spent") >= 100' });
    expect(again.status).toBe(201);
    expect(again.body.version).toBe(3);
    const h = await t.call('GET', '/v1/admin/flags/f_spent/history');
    expect(h.body.items.map((e: any) => e.op)).toEqual(['create', 'delete', 'create']);
    expect(h.body.items[1].definition).toBeNull();
  });

  it('full flag form', async () => {
    const r = await t.call('POST', '/v1/admin/flags', {
      key: 'checkout_variant',
      enabled: true,
      valueType: 'string',
      rules: [
        { when: 'segment("vip_users")', value: 'express', rollout: 50 },
        { when: 'trait("total_spent") >= 500', value: 'priority' },
      ],
      default: 'classic',
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ valueType: 'string', default: 'classic', rules: [{ rollout: 50 }, { value: 'priority' }] });
    const bad = await t.call('POST', '/v1/admin/flags', { key: 'bad_flag', valueType: 'number', rules: [{ when: 'true', value: 'x' }], default: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe('rules[0].value');
  });

  it('every committed change wrote exactly one outbox row, in commit order', async () => {
    const rows = await outbox();
    const versions = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM definition_versions')).rows[0]!.n;
    expect(rows).toHaveLength(versions);
    const ids = rows.map((r) => BigInt(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(rows.every((r) => r.published_at === null)).toBe(true);
  });

  it('concurrent writers are serialized: no lost updates, versions unique', async () => {
    await t.call('POST', '/v1/admin/traits', { key: 'race', expression: 'events.x.count_7d' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.call('PUT', '/v1/admin/traits/race', { expression: `events.x.count_7d + ${i}` }, { 'if-match': '"1"' })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(7);
  });
});
