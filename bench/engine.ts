/**
 * Engine micro-benchmark: per-profile cost of each step the processor runs for one event, on the seed
 * definitions and a profile with 30 days of activity.
 *
 * Steps: decodeProfile, applyEvents (1 event), evaluateProfile, encodeProfile, encodedFieldsDiff,
 * validateMessage+normalizeMessage, and the whole per-profile loop (decode → apply → evaluate → encode →
 * diff). Every timed call gets a fresh input object built outside the timed region (as in the
 * processor, where every state is freshly decoded), so per-object caches never flatter a step.
 * Rounds interleave the steps (and the implementations, when several are given), so machine noise
 * hits them alike; figures are medians over rounds of the mean µs per call within a round.
 *
 * Run: `npx tsx bench/engine.ts [--quick] [--json] [--wall]` (default clock: process CPU time, which a
 * loaded machine disturbs far less than wall time).
 * Other implementations (e.g. a copy of an older engine) can be compared in one run with
 * `runEngineBench([{ name, engine, events }, …])`.
 */
import { pathToFileURL } from 'node:url';
import * as engineImpl from '@tinycdp/engine';
import * as eventsImpl from '@tinycdp/events';
import type { CdpEvent } from '@tinycdp/events';
import type { Definition, Plan, ProfileState } from '@tinycdp/engine';

/** The engine functions the benchmark calls (structurally typed so an older copy can be passed). */
export interface EngineImpl {
  buildPlan(defs: readonly Definition[]): { plan: Plan; problems: readonly unknown[] };
  emptyProfile(id: string): ProfileState;
  cloneProfile(state: ProfileState): ProfileState;
  applyEvents(state: ProfileState, events: readonly CdpEvent[], plan: Plan, now: number): ProfileState;
  evaluateProfile(state: ProfileState, plan: Plan, now: number, reason: 'event'): { state: ProfileState; nextDueAt: number | null };
  encodeProfile(state: ProfileState): Record<string, string>;
  decodeProfile(fields: Readonly<Record<string, string>>, id: string): ProfileState;
  encodedFieldsDiff(
    before: Readonly<Record<string, string>>,
    after: Readonly<Record<string, string>>,
  ): { set: Record<string, string>; del: string[] };
}

export interface EventsImpl {
  validateMessage(input: unknown): { ok: true; message: never } | { ok: false; errors: unknown[] };
  normalizeMessage(raw: never, options: { receivedAt: number; newId: () => string }): CdpEvent;
}

export interface Impl {
  readonly name: string;
  readonly engine: EngineImpl;
  readonly events: EventsImpl;
}

export const OPERATIONS = [
  'decodeProfile',
  'applyEvents (1 event)',
  'evaluateProfile',
  'encodeProfile',
  'encodedFieldsDiff',
  'validateMessage+normalizeMessage',
  'per profile: decode→apply→evaluate→encode→diff',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Median µs per call, and the min–max of the per-round means. */
export interface OpResult {
  readonly median_us: number;
  readonly min_us: number;
  readonly max_us: number;
}

export type EngineBenchResult = Record<string, Record<Operation, OpResult>>;

const t = (key: string, expression: string): Definition => ({ kind: 'trait', key, expression, version: 1 });
const s = (key: string, rule: string): Definition => ({ kind: 'segment', key, rule, version: 1 });

/** The seed-definition plan of the brief. */
export const SEED_DEFS: readonly Definition[] = [
  t('frequent_buyer', 'events.purchase.count_30d >= 3'),
  t('total_spent', 'events.purchase.sum(properties.amount, 90d)'),
  s('vip_users', 'frequent_buyer == true'),
  s('recent_buyers', 'events.purchase.count_30d >= 1'),
  s('high_value', 'trait("total_spent") >= 500'),
  s('active', 'events.app_open.unique_days_14d >= 5'),
  s('premium', 'profile.plan in ["premium","enterprise"]'),
];

const DAY = 86_400_000;
/** Evaluation instant: 2026-11-25T12:00:00Z. */
export const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();

let seq = 0;
function event(partial: Partial<CdpEvent> & { timestamp: string }): CdpEvent {
  seq++;
  return {
    type: 'track',
    messageId: `m${seq}`,
    userId: 'user-1',
    anonymousId: null,
    event: null,
    name: null,
    properties: {},
    traits: {},
    context: {},
    previousId: null,
    groupId: null,
    receivedAt: partial.timestamp,
    sentAt: null,
    originalTimestamp: null,
    ...partial,
  };
}

/** 30 days up to NOW: an identify, two app opens a day, a purchase a day (two on even days). */
export function thirtyDays(): CdpEvent[] {
  const start = Math.floor(NOW / DAY) * DAY - 29 * DAY;
  const out = [event({ type: 'identify', timestamp: iso(start + 8 * 3_600_000), traits: { plan: 'premium', email: 'ann@example.com' } })];
  for (let d = 0; d < 30; d++) {
    const day = start + d * DAY;
    out.push(event({ event: 'app_open', timestamp: iso(day + 8 * 3_600_000 + 15 * 60_000) }));
    out.push(event({ event: 'app_open', timestamp: iso(day + 19 * 3_600_000 + 40 * 60_000) }));
    out.push(event({ event: 'purchase', timestamp: iso(day + 11 * 3_600_000), properties: { amount: 19.99, sku: `sku-${d % 4}` } }));
    if (d % 2 === 0) out.push(event({ event: 'purchase', timestamp: iso(day + 11 * 3_600_000 + 30 * 60_000), properties: { amount: 4.5 } }));
  }
  return out;
}

/** The new event of the per-profile loop: a purchase a minute before NOW. */
export const NEW_EVENT: CdpEvent = event({
  event: 'purchase',
  timestamp: iso(NOW - 60_000),
  properties: { amount: 42.5, sku: 'sku-9', currency: 'EUR' },
  context: { ip: '203.0.113.7', library: { name: 'analytics.js', version: '4.1.0' } },
});

/** A tinycdp.events value as ingest writes it (what the processor JSON-parses, validates, normalizes). */
export const RAW_VALUE: string = JSON.stringify(NEW_EVENT);

interface Fixture {
  readonly plan: Plan;
  /** The stored hash of the profile (30 days, evaluated at NOW - 1 min). */
  readonly fields: Record<string, string>;
}

function fixture(engine: EngineImpl): Fixture {
  const { plan, problems } = engine.buildPlan(SEED_DEFS);
  if (problems.length > 0) throw new Error(`seed plan has problems: ${JSON.stringify(problems)}`);
  const applied = engine.applyEvents(engine.emptyProfile('user-1'), thirtyDays(), plan, NOW - 120_000);
  const evaluated = engine.evaluateProfile(applied, plan, NOW - 120_000, 'event');
  return { plan, fields: engine.encodeProfile(evaluated.state) };
}

type Step = (i: number) => void;

/** One step: `prepare(n)` builds n fresh inputs (untimed); `run(i)` is the timed call on input i. */
interface Bench {
  readonly prepare: (n: number) => void;
  readonly run: Step;
}

function benches(impl: Impl): Record<Operation, Bench> {
  const { engine, events } = impl;
  const { plan, fields } = fixture(engine);
  const one = [NEW_EVENT];
  let decoded: ProfileState[] = [];
  let applied: ProfileState[] = [];
  let evaluated: ProfileState[] = [];
  let encoded: Record<string, string>[] = [];
  let parsed: unknown[] = [];
  let sink: unknown = null;
  const fresh = (n: number): ProfileState[] => Array.from({ length: n }, () => engine.decodeProfile(fields, 'user-1'));
  const b: Record<Operation, Bench> = {
    decodeProfile: {
      prepare: () => {},
      run: () => {
        sink = engine.decodeProfile(fields, 'user-1');
      },
    },
    'applyEvents (1 event)': {
      prepare: (n) => {
        decoded = fresh(n);
      },
      run: (i) => {
        sink = engine.applyEvents(decoded[i]!, one, plan, NOW);
      },
    },
    evaluateProfile: {
      // Deep copies of one applied state: fresh objects as in the processor, with little garbage
      // left by the preparation (which would otherwise be collected inside the timed loop).
      prepare: (n) => {
        const st = engine.applyEvents(fresh(1)[0]!, one, plan, NOW);
        applied = Array.from({ length: n }, () => engine.cloneProfile(st));
      },
      run: (i) => {
        sink = engine.evaluateProfile(applied[i]!, plan, NOW, 'event');
      },
    },
    encodeProfile: {
      prepare: (n) => {
        const st = engine.evaluateProfile(engine.applyEvents(fresh(1)[0]!, one, plan, NOW), plan, NOW, 'event').state;
        evaluated = Array.from({ length: n }, () => engine.cloneProfile(st));
      },
      run: (i) => {
        sink = engine.encodeProfile(evaluated[i]!);
      },
    },
    encodedFieldsDiff: {
      prepare: (n) => {
        const st = engine.evaluateProfile(engine.applyEvents(fresh(1)[0]!, one, plan, NOW), plan, NOW, 'event').state;
        encoded = Array.from({ length: n }, () => engine.encodeProfile(st));
      },
      run: (i) => {
        sink = engine.encodedFieldsDiff(fields, encoded[i]!);
      },
    },
    'validateMessage+normalizeMessage': {
      prepare: (n) => {
        parsed = Array.from({ length: n }, () => JSON.parse(RAW_VALUE) as unknown);
      },
      run: (i) => {
        const v = events.validateMessage(parsed[i]);
        if (!v.ok) throw new Error('fixture message is invalid');
        sink = events.normalizeMessage(v.message, { receivedAt: NOW, newId: () => 'x' });
      },
    },
    'per profile: decode→apply→evaluate→encode→diff': {
      prepare: () => {},
      run: () => {
        const st = engine.applyEvents(engine.decodeProfile(fields, 'user-1'), one, plan, NOW);
        const ev = engine.evaluateProfile(st, plan, NOW, 'event');
        sink = engine.encodedFieldsDiff(fields, engine.encodeProfile(ev.state));
      },
    },
  };
  void sink;
  return b;
}

export interface EngineBenchOptions {
  /** Rounds (each runs every step of every implementation once, in rotating order). */
  readonly rounds?: number; // default 61 (--quick: 11)
  /** Target wall time of one timed batch, in ms (batch sizes are calibrated per step). */
  readonly batchMs?: number;
  /** 'cpu' (default): process CPU time per call; 'wall': elapsed time per call. */
  readonly clock?: 'cpu' | 'wall';
}

/** Mean µs per call over one batch: CPU time of this process (user + system; default, robust to a
 *  busy machine where wall time mostly measures waiting for a core) or wall time. */
function timeBatch(bench: Bench, n: number, clock: 'cpu' | 'wall'): number {
  bench.prepare(n);
  if (clock === 'wall') {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) bench.run(i);
    return Number(process.hrtime.bigint() - t0) / 1000 / n;
  }
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) bench.run(i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

function summarize(xs: number[]): OpResult {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { median_us: r(median), min_us: r(s[0]!), max_us: r(s[s.length - 1]!) };
}

/** Runs every step of every implementation; returns medians per implementation and step. */
export function runEngineBench(impls: readonly Impl[], options: EngineBenchOptions = {}): EngineBenchResult {
  const rounds = options.rounds ?? 61;
  const batchMs = options.batchMs ?? 10;
  const clock = options.clock ?? 'cpu';
  const all = impls.map((impl) => ({ impl, benches: benches(impl) }));
  // Warm up and calibrate: a batch size per (implementation, step) that takes about batchMs.
  const sizes = new Map<string, number>();
  for (const { impl, benches: bs } of all) {
    for (const op of OPERATIONS) {
      let n = 16;
      for (let k = 0; k < 6; k++) {
        const us = timeBatch(bs[op], n, clock);
        n = Math.max(16, Math.min(20_000, Math.round((batchMs * 1000) / Math.max(us, 0.01))));
      }
      sizes.set(`${impl.name}\u0000${op}`, n);
    }
  }
  const samples = new Map<string, number[]>();
  const jobs = all.flatMap(({ impl, benches: bs }) => OPERATIONS.map((op) => ({ key: `${impl.name}\u0000${op}`, bench: bs[op] })));
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < jobs.length; j++) {
      const job = jobs[(j + r) % jobs.length]!;
      const us = timeBatch(job.bench, sizes.get(job.key)!, clock);
      let list = samples.get(job.key);
      if (!list) samples.set(job.key, (list = []));
      list.push(us);
    }
  }
  const out: EngineBenchResult = {};
  for (const { impl } of all) {
    out[impl.name] = Object.fromEntries(
      OPERATIONS.map((op) => [op, summarize(samples.get(`${impl.name}\u0000${op}`)!)]),
    ) as Record<Operation, OpResult>;
  }
  return out;
}

/** A Markdown table: one row per step, one column per implementation (+ ratio to the first). */
export function formatTable(result: EngineBenchResult): string {
  const names = Object.keys(result);
  const head = `| step | ${names.map((n) => `${n} µs (min–max)`).join(' | ')} |${names.length > 1 ? ' speed-up |' : ''}`;
  const sep = `|---|${names.map(() => '---:').join('|')}|${names.length > 1 ? '---:|' : ''}`;
  const rows = OPERATIONS.map((op) => {
    const cells = names.map((n) => {
      const r = result[n]![op];
      return `${r.median_us} (${r.min_us}–${r.max_us})`;
    });
    const ratio =
      names.length > 1 ? ` ${(result[names[0]!]![op].median_us / result[names[names.length - 1]!]![op].median_us).toFixed(1)}× |` : '';
    return `| ${op} | ${cells.join(' | ')} |${ratio}`;
  });
  return [head, sep, ...rows].join('\n');
}

export const CURRENT: Impl = {
  name: 'current',
  engine: engineImpl as unknown as EngineImpl,
  events: eventsImpl as unknown as EventsImpl,
};

/** The `engine` section of bench/results/latest.json (µs per call, CPU time, medians over rounds). */
export interface EngineScenarioResult {
  rounds: number;
  clock: 'cpu';
  decode_us: number;
  apply_us: number;
  evaluate_us: number;
  encode_us: number;
  diff_us: number;
  validate_us: number;
  per_profile_us: number;
  /** Every step with its min–max over rounds. */
  steps: Record<Operation, OpResult>;
}

/** bench/run.ts scenario `engine`: the current engine alone (full 61 rounds, quick 11). */
export async function runEngineScenario(opts: { quick: boolean }): Promise<EngineScenarioResult> {
  const rounds = opts.quick ? 11 : 61;
  const steps = runEngineBench([CURRENT], opts.quick ? { rounds, batchMs: 5 } : { rounds })[CURRENT.name]!;
  return {
    rounds,
    clock: 'cpu',
    decode_us: steps.decodeProfile.median_us,
    apply_us: steps['applyEvents (1 event)'].median_us,
    evaluate_us: steps.evaluateProfile.median_us,
    encode_us: steps.encodeProfile.median_us,
    diff_us: steps.encodedFieldsDiff.median_us,
    validate_us: steps['validateMessage+normalizeMessage'].median_us,
    per_profile_us: steps['per profile: decode→apply→evaluate→encode→diff'].median_us,
    steps,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const quick = process.argv.includes('--quick');
  const clock = process.argv.includes('--wall') ? 'wall' : 'cpu';
  const result = runEngineBench([CURRENT], quick ? { rounds: 11, batchMs: 5, clock } : { clock });
  if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
  else console.log(formatTable(result));
}
