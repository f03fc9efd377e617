/**
 * DSL benchmark: evaluation speed of compiled seed expressions vs hand-written closures of the same
 * logic over the same EvalEnv, plus parse+check+compile time of a ~200-character expression.
 * Run: `npx tsx bench/dsl.ts [--quick]` (prints JSON).
 */
import { pathToFileURL } from 'node:url';
import { compile, type AggregateRef, type CheckContext, type CompiledExpression, type EvalEnv, type ExprType, type Value } from '@tinycdp/dsl';

export interface DslBenchResult {
  /** Evaluations per second of the compiled seed expressions (median of repetitions). */
  evals_per_s: number;
  /** Same for hand-written closures of the same logic over the same env. */
  baseline_evals_per_s: number;
  /** Median over repetitions of (DSL / hand-written) evaluations per second (goal ≥ 0.5). */
  ratio: number;
  /** Median parse+check+compile time of a ~200-character expression, in microseconds (goal < 100). */
  compile_us: number;
}

const SEEDS = [
  'events.purchase.count_30d >= 1',
  'events.app_open.unique_days_14d >= 5',
  'last_seen_minutes_ago < 1440',
  'profile.plan in ["premium", "enterprise"]',
  'events.purchase.count_30d >= 1 && events.app_open.count_7d >= 3',
  'frequent_buyer == true',
  'segment("vip_users") && segment("high_value")',
  'trait("frequent_buyer") == true',
  'trait("total_spent") >= 500',
  'segment("power_users")',
  'events.purchase.count_30d >= 3',
];

const COMPILE_SOURCE =
  'events.purchase.where(properties.amount > 100).count_30d >= 1 && events.app_open.unique_days_14d >= 5 && ' +
  'profile.plan in ["premium", "enterprise"] && trait("total_spent") >= 500 || segment("vip_users")';

const CTX: CheckContext = {
  kind: 'segment',
  traits: new Map<string, ExprType>([
    ['frequent_buyer', 'boolean'],
    ['total_spent', 'number'],
  ]),
  segments: new Set(['vip_users', 'high_value', 'power_users']),
};

/** An EvalEnv over one profile's precomputed data (what the engine does, minus window math). */
class DataEnv implements EvalEnv {
  constructor(
    private readonly aggregates: Map<string, Value>,
    private readonly profileData: Record<string, Value>,
    private readonly traits: Map<string, Value>,
    private readonly segments: Map<string, Value>,
  ) {}
  aggregate(ref: AggregateRef): Value {
    return this.aggregates.get(ref.id) ?? null;
  }
  profile(path: readonly string[]): Value {
    let cur: Value = this.profileData;
    for (const seg of path) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return null;
      cur = cur[seg] ?? null;
    }
    return cur;
  }
  trait(key: string): Value {
    return this.traits.get(key) ?? null;
  }
  segment(key: string): Value {
    return this.segments.get(key) ?? null;
  }
  context(): Value {
    return null;
  }
}

/** Deterministic pseudo-random profiles (some with missing data). */
function makeEnvs(n: number): DataEnv[] {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const maybe = (v: Value) => (rnd() < 0.15 ? null : v);
  const envs: DataEnv[] = [];
  for (let i = 0; i < n; i++) {
    const aggregates = new Map<string, Value>([
      ['events.purchase.count_30d', maybe(Math.floor(rnd() * 6))],
      ['events.app_open.unique_days_14d', maybe(Math.floor(rnd() * 14))],
      ['events.app_open.count_7d', maybe(Math.floor(rnd() * 10))],
      ['last_seen_minutes_ago', maybe(Math.floor(rnd() * 4000))],
    ]);
    const plans = ['free', 'premium', 'enterprise', 'trial'];
    const profile: Record<string, Value> = rnd() < 0.1 ? {} : { plan: plans[Math.floor(rnd() * plans.length)] ?? 'free' };
    const traits = new Map<string, Value>([
      ['frequent_buyer', maybe(rnd() < 0.5)],
      ['total_spent', maybe(Math.floor(rnd() * 1000))],
    ]);
    const segments = new Map<string, Value>([
      ['vip_users', rnd() < 0.3],
      ['high_value', rnd() < 0.5],
      ['power_users', rnd() < 0.2],
    ]);
    envs.push(new DataEnv(aggregates, profile, traits, segments));
  }
  return envs;
}

type Rule = (env: EvalEnv) => Value;

const ref = (id: string): AggregateRef => ({ id, event: null, filter: null, metric: { kind: 'last_seen_minutes_ago' } });

/** The seed rules written by hand against the same env (same null semantics). */
function handWritten(): Rule[] {
  const purchase30 = ref('events.purchase.count_30d');
  const appOpenDays14 = ref('events.app_open.unique_days_14d');
  const appOpen7 = ref('events.app_open.count_7d');
  const lastSeen = ref('last_seen_minutes_ago');
  const planPath = ['plan'];
  return [
    (env) => {
      const v = env.aggregate(purchase30);
      return typeof v === 'number' && v >= 1;
    },
    (env) => {
      const v = env.aggregate(appOpenDays14);
      return typeof v === 'number' && v >= 5;
    },
    (env) => {
      const v = env.aggregate(lastSeen);
      return typeof v === 'number' && v < 1440;
    },
    (env) => {
      const v = env.profile(planPath);
      return v === 'premium' || v === 'enterprise';
    },
    (env) => {
      const a = env.aggregate(purchase30);
      if (!(typeof a === 'number' && a >= 1)) return false;
      const b = env.aggregate(appOpen7);
      return typeof b === 'number' && b >= 3;
    },
    (env) => env.trait('frequent_buyer') === true,
    (env) => env.segment('vip_users') === true && env.segment('high_value') === true,
    (env) => env.trait('frequent_buyer') === true,
    (env) => {
      const v = env.trait('total_spent');
      return typeof v === 'number' && v >= 500;
    },
    (env) => env.segment('power_users') === true,
    (env) => {
      const v = env.aggregate(purchase30);
      return typeof v === 'number' && v >= 3;
    },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs every rule on every env `rounds` times; returns evaluations per second and a checksum. */
function timeRules(rules: Rule[], envs: DataEnv[], rounds: number): { perSec: number; trues: number } {
  let trues = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    for (let e = 0; e < envs.length; e++) {
      const env = envs[e] as DataEnv;
      for (let i = 0; i < rules.length; i++) if ((rules[i] as Rule)(env) === true) trues++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSec: (rounds * envs.length * rules.length) / seconds, trues };
}

export async function runDslBench(opts: { quick?: boolean } = {}): Promise<DslBenchResult> {
  const quick = opts.quick ?? false;
  const reps = quick ? 3 : 7;
  const rounds = quick ? 300 : 2000;
  const envs = makeEnvs(256);

  const compiled: CompiledExpression[] = SEEDS.map((s) => {
    const r = compile(s, CTX);
    if (!r.ok) throw new Error(`bench seed does not compile: ${s}`);
    return r.expr;
  });
  const dslRules: Rule[] = compiled.map((c) => c.evaluate);
  const baseRules = handWritten();

  // Same answers, or the comparison is meaningless.
  for (const env of envs) {
    for (let i = 0; i < SEEDS.length; i++) {
      if ((dslRules[i] as Rule)(env) !== (baseRules[i] as Rule)(env)) throw new Error(`bench mismatch on ${SEEDS[i]}`);
    }
  }

  // Warm-up, then interleaved repetitions.
  timeRules(dslRules, envs, Math.ceil(rounds / 4));
  timeRules(baseRules, envs, Math.ceil(rounds / 4));
  const dsl: number[] = [];
  const base: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < reps; r++) {
    // Alternate which side goes first so drift (GC, frequency, neighbours) hits both equally.
    const dslFirst = r % 2 === 0;
    const first = timeRules(dslFirst ? dslRules : baseRules, envs, rounds);
    const second = timeRules(dslFirst ? baseRules : dslRules, envs, rounds);
    const [a, b] = dslFirst ? [first, second] : [second, first];
    if (a.trues !== b.trues) throw new Error('bench checksum mismatch');
    dsl.push(a.perSec);
    base.push(b.perSec);
    ratios.push(a.perSec / b.perSec);
  }

  // parse + check + compile.
  const n = quick ? 300 : 2000;
  // Warm-up is not shortened in quick mode: the goal is steady-state compile time, and chevrotain's
  // parser needs a few thousand runs before the JIT has settled.
  for (let i = 0; i < 3000; i++) compile(COMPILE_SOURCE, CTX);
  const compileTimes: number[] = [];
  for (let r = 0; r < reps; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) compile(COMPILE_SOURCE, CTX);
    compileTimes.push(Number(process.hrtime.bigint() - start) / 1e3 / n);
  }

  const evals = median(dsl);
  const baseline = median(base);
  return {
    evals_per_s: Math.round(evals),
    baseline_evals_per_s: Math.round(baseline),
    // Median of per-repetition ratios: each pair ran back to back, so load drift mostly cancels.
    ratio: Math.round(median(ratios) * 1000) / 1000,
    compile_us: Math.round(median(compileTimes) * 10) / 10,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDslBench({ quick: process.argv.includes('--quick') })
    .then((r) => console.log(JSON.stringify({ ...r, source_chars: COMPILE_SOURCE.length }, null, 2)))
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}
