/**
 * The plan: every definition compiled, ordered and analysed for what the engine must aggregate.
 * Built once per definitions change (processor and decide) and shared read-only.
 */
import type { Json } from '@tinycdp/common';
import { compile as dslCompile } from '@tinycdp/dsl';
import type {
  AggregateRef,
  CheckContext,
  CompileResult,
  CompiledExpression,
  Diagnostic,
  EventFilter,
  ExprType,
  WindowUnit,
} from '@tinycdp/dsl';
import type {
  Definition,
  DefinitionKind,
  FlagDefinition,
  FlagValueType,
  SegmentDefinition,
  TraitDefinition,
} from './definitions';
import { digest64, shortId } from './internal/hash';
import { canonicalJson, pathKey } from './internal/json';
import { windowMs } from './window';

export interface CompiledTrait {
  readonly kind: 'trait';
  readonly key: string;
  readonly version: number;
  readonly expr: CompiledExpression;
  readonly type: ExprType;
  /** True when the value can change only because time passed (directly or through dependencies). */
  readonly timeDependent: boolean;
}

export interface CompiledSegment {
  readonly kind: 'segment';
  readonly key: string;
  readonly version: number;
  readonly expr: CompiledExpression;
  readonly timeDependent: boolean;
  /** Time-dependent aggregates read directly or through traits/segments (for nextDueAt). */
  readonly timeRefs: readonly AggregateRef[];
}

export interface CompiledFlagRule {
  readonly when: CompiledExpression;
  readonly value: Json;
  /** 0..100, or null for "everyone matching". */
  readonly rollout: number | null;
}

export interface CompiledFlag {
  readonly kind: 'flag';
  readonly key: string;
  readonly version: number;
  readonly enabled: boolean;
  readonly valueType: FlagValueType;
  readonly default: Json;
  readonly rules: readonly CompiledFlagRule[];
}

/** What to keep for one property path of a series. */
export interface PropertySpec {
  /** Short stable hash of the path (stable across plan changes). */
  readonly id: string;
  /** Path under the event, e.g. ['properties', 'amount']. */
  readonly path: readonly string[];
  /** Units for which count/sum/min/max per bucket are kept (sum, avg, min, max). */
  readonly numericUnits: readonly WindowUnit[];
  /** Units for which distinct values per bucket are kept (distinct_count). */
  readonly distinctUnits: readonly WindowUnit[];
  /** Keep the last value (last). */
  readonly last: boolean;
}

/** What to keep for one event name (+ filter). */
export interface SeriesSpec {
  /** Short stable hash of (event, filter id); stable across plan changes, used in the codec. */
  readonly id: string;
  /** Event name, or null for "any event". */
  readonly event: string | null;
  readonly filter: EventFilter | null;
  /** Bucket units kept and the longest window (in buckets) per unit. */
  readonly units: Readonly<Partial<Record<WindowUnit, number>>>;
  readonly props: readonly PropertySpec[];
  /** Keep first/last seen of this series (for *_ago metrics on it). */
  readonly seen: boolean;
}

export interface Plan {
  /** Stable digest of the definitions in the plan: equal definitions → equal planId. */
  readonly planId: string;
  /** Traits in dependency order (a trait comes after every trait it reads). */
  readonly traits: readonly CompiledTrait[];
  /** Segments in dependency order. */
  readonly segments: readonly CompiledSegment[];
  readonly flags: readonly CompiledFlag[];
  readonly traitsByKey: ReadonlyMap<string, CompiledTrait>;
  readonly segmentsByKey: ReadonlyMap<string, CompiledSegment>;
  readonly flagsByKey: ReadonlyMap<string, CompiledFlag>;
  /** Aggregation needs, by series. */
  readonly series: readonly SeriesSpec[];
  readonly seriesById: ReadonlyMap<string, SeriesSpec>;
  /** Paths under `profile.` that definitions read (identify traits kept on the profile). */
  readonly profilePaths: readonly (readonly string[])[];
  /** Longest window in ms (0 when none): the events topic retention must cover it (replays). */
  readonly maxWindowMs: number;
}

export interface PlanProblem {
  readonly kind: DefinitionKind;
  readonly key: string;
  readonly diagnostics: readonly Diagnostic[];
}

export type CompileFn = (source: string, ctx: CheckContext) => CompileResult;

export interface BuildPlanOptions {
  /** Compiler to use; defaults to `compile` from @tinycdp/dsl (tests may inject another). */
  readonly compile?: CompileFn;
}

/** Series id of (event, filter id): stable across plans, ≤ 7 chars. */
export function seriesIdOf(event: string | null, filterId: string | null): string {
  return shortId(JSON.stringify([event, filterId]));
}

/** Property id of a path under the event: stable across plans, ≤ 7 chars. */
export function propertyIdOf(path: readonly string[]): string {
  return shortId(JSON.stringify(path));
}

/** True for metrics whose value changes as time passes. */
export function isTimeMetric(ref: AggregateRef): boolean {
  return 'window' in ref.metric || ref.metric.kind === 'last_seen_minutes_ago' || ref.metric.kind === 'first_seen_days_ago';
}

type NodeDef = TraitDefinition | SegmentDefinition;
const nodeId = (kind: 'trait' | 'segment', key: string): string => `${kind}:${key}`;

function sourceOf(def: NodeDef): string {
  return def.kind === 'trait' ? def.expression : def.rule;
}

function syntheticDiagnostic(code: Diagnostic['code'], message: string, source: string): Diagnostic {
  const firstLine = source.split('\n')[0] ?? '';
  return {
    code,
    severity: 'error',
    message,
    line: 1,
    column: 1,
    offset: 0,
    length: Math.max(1, firstLine.length),
    rendered: `${firstLine}\n${'^'.repeat(Math.max(1, firstLine.length))}`,
  };
}

/** Strongly connected components (Tarjan), iterative-safe for small graphs. */
function cyclicNodes(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): Set<string> {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out = new Set<string>();
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        if (!edges.has(w)) continue; // unknown node: not part of any cycle
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) for (const c of comp) out.add(c);
    }
  };
  for (const v of nodes) if (!idx.has(v)) strong(v);
  return out;
}

/**
 * Compiles every definition and derives the aggregation needs.
 *
 * - Traits and segments may read traits and segments; reference cycles are reported as problems
 *   (code `cycle`) and the definitions in the cycle are excluded. Definitions that fail to compile are
 *   excluded too, and so (through `unknown_trait`/`unknown_segment`) are the ones that read them.
 * - Each definition is checked against the traits (with their compiled result types) and segments
 *   that are in the plan, so `frequent_buyer == true` resolves the bare trait name.
 * - When the same kind+key appears twice, the higher version wins.
 *
 * Never throws for bad definitions (they become problems); throws only if the compiler does.
 */
export function buildPlan(
  defs: readonly Definition[],
  options: BuildPlanOptions = {},
): { plan: Plan; problems: PlanProblem[] } {
  const compile = options.compile ?? dslCompile;
  const problems: PlanProblem[] = [];

  // Latest version per kind+key.
  const latest = new Map<string, Definition>();
  for (const d of defs) {
    const id = `${d.kind}:${d.key}`;
    const prev = latest.get(id);
    if (prev === undefined || d.version >= prev.version) latest.set(id, d);
  }
  const all = [...latest.values()].sort((a, b) =>
    a.kind === b.kind ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.kind < b.kind ? -1 : 1,
  );
  const nodeDefs = all.filter((d): d is NodeDef => d.kind !== 'flag');
  const flagDefs = all.filter((d): d is FlagDefinition => d.kind === 'flag');

  // Phase A: discover references with a permissive context (every trait typed 'any').
  const allTraits = new Map<string, ExprType>(
    nodeDefs.filter((d) => d.kind === 'trait').map((d) => [d.key, 'any' as ExprType]),
  );
  const allSegments = new Set(nodeDefs.filter((d) => d.kind === 'segment').map((d) => d.key));
  const edges = new Map<string, string[]>();
  for (const d of nodeDefs) {
    const r = compile(sourceOf(d), { kind: d.kind, traits: allTraits, segments: allSegments, selfKey: d.key });
    const id = nodeId(d.kind, d.key);
    if (!r.ok) {
      problems.push({ kind: d.kind, key: d.key, diagnostics: r.diagnostics });
      continue;
    }
    const req = r.expr.requirements;
    edges.set(id, [
      ...req.traits.map((k) => nodeId('trait', k)),
      ...req.segments.map((k) => nodeId('segment', k)),
    ]);
  }

  // Cycles.
  const ids = [...edges.keys()];
  const cyclic = cyclicNodes(ids, edges);
  for (const d of nodeDefs) {
    const id = nodeId(d.kind, d.key);
    if (!cyclic.has(id)) continue;
    const path = (edges.get(id) ?? []).filter((x) => cyclic.has(x)).join(', ');
    problems.push({
      kind: d.kind,
      key: d.key,
      diagnostics: [
        syntheticDiagnostic('cycle', `${d.kind} "${d.key}" is part of a reference cycle (via ${path})`, sourceOf(d)),
      ],
    });
  }

  // Topological order (Kahn; ties by id for determinism) over the acyclic, parsed nodes.
  const remaining = ids.filter((id) => !cyclic.has(id));
  const remainingSet = new Set(remaining);
  const indeg = new Map<string, number>(remaining.map((id) => [id, 0]));
  const rev = new Map<string, string[]>();
  for (const id of remaining) {
    for (const dep of new Set(edges.get(id) ?? [])) {
      if (!remainingSet.has(dep)) continue;
      indeg.set(id, indeg.get(id)! + 1);
      rev.set(dep, [...(rev.get(dep) ?? []), id]);
    }
  }
  const ready = remaining.filter((id) => indeg.get(id) === 0).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift()!;
    order.push(id);
    for (const next of rev.get(id) ?? []) {
      indeg.set(next, indeg.get(next)! - 1);
      if (indeg.get(next) === 0) {
        ready.push(next);
        ready.sort();
      }
    }
  }

  // Phase B: compile in order with the real types of what compiled before.
  const byId = new Map(nodeDefs.map((d) => [nodeId(d.kind, d.key), d]));
  const traitTypes = new Map<string, ExprType>();
  const segmentKeys = new Set<string>();
  const traits: CompiledTrait[] = [];
  const segments: CompiledSegment[] = [];
  const closure = new Map<string, AggregateRef[]>(); // node id → time refs (transitive)
  const timeDep = new Map<string, boolean>();
  for (const id of order) {
    const d = byId.get(id)!;
    const r = compile(sourceOf(d), { kind: d.kind, traits: traitTypes, segments: segmentKeys, selfKey: d.key });
    if (!r.ok) {
      problems.push({ kind: d.kind, key: d.key, diagnostics: r.diagnostics });
      continue;
    }
    const req = r.expr.requirements;
    const refs = new Map<string, AggregateRef>();
    for (const a of req.aggregates) if (isTimeMetric(a)) refs.set(a.id, a);
    let td = req.timeDependent;
    for (const dep of [...req.traits.map((k) => nodeId('trait', k)), ...req.segments.map((k) => nodeId('segment', k))]) {
      for (const a of closure.get(dep) ?? []) refs.set(a.id, a);
      td = td || (timeDep.get(dep) ?? false);
    }
    const timeRefs = [...refs.values()];
    td = td || timeRefs.length > 0;
    closure.set(id, timeRefs);
    timeDep.set(id, td);
    if (d.kind === 'trait') {
      traitTypes.set(d.key, r.expr.type);
      traits.push({ kind: 'trait', key: d.key, version: d.version, expr: r.expr, type: r.expr.type, timeDependent: td });
    } else {
      segmentKeys.add(d.key);
      segments.push({ kind: 'segment', key: d.key, version: d.version, expr: r.expr, timeDependent: td, timeRefs });
    }
  }

  // Flags.
  const flags: CompiledFlag[] = [];
  for (const f of flagDefs) {
    const rules: CompiledFlagRule[] = [];
    const diags: Diagnostic[] = [];
    for (const rule of f.rules) {
      const r = compile(rule.when, { kind: 'flag', traits: traitTypes, segments: segmentKeys });
      if (!r.ok) {
        diags.push(...r.diagnostics);
        continue;
      }
      const rollout =
        rule.rollout === undefined || rule.rollout === null ? null : Math.min(100, Math.max(0, Number(rule.rollout) || 0));
      rules.push({ when: r.expr, value: rule.value, rollout });
    }
    if (diags.length > 0) {
      problems.push({ kind: 'flag', key: f.key, diagnostics: diags });
      continue;
    }
    flags.push({
      kind: 'flag',
      key: f.key,
      version: f.version,
      enabled: f.enabled,
      valueType: f.valueType,
      default: f.default,
      rules,
    });
  }

  // Aggregation needs from every expression in the plan.
  const exprs: CompiledExpression[] = [
    ...traits.map((t) => t.expr),
    ...segments.map((s) => s.expr),
    ...flags.flatMap((f) => f.rules.map((r) => r.when)),
  ];
  const { series, profilePaths, maxWindowMs } = aggregationNeeds(exprs);

  const included = new Set([
    ...traits.map((t) => `trait:${t.key}`),
    ...segments.map((s) => `segment:${s.key}`),
    ...flags.map((f) => `flag:${f.key}`),
  ]);
  const planId = digest64(
    all
      .filter((d) => included.has(`${d.kind}:${d.key}`))
      .map((d) => canonicalJson(d as unknown as Json))
      .join('\n'),
  );

  const plan: Plan = {
    planId,
    traits,
    segments,
    flags,
    traitsByKey: new Map(traits.map((t) => [t.key, t])),
    segmentsByKey: new Map(segments.map((s) => [s.key, s])),
    flagsByKey: new Map(flags.map((f) => [f.key, f])),
    series,
    seriesById: new Map(series.map((s) => [s.id, s])),
    profilePaths,
    maxWindowMs,
  };
  return { plan, problems };
}

interface MutableProp {
  path: readonly string[];
  numeric: Set<WindowUnit>;
  distinct: Set<WindowUnit>;
  last: boolean;
}
interface MutableSeries {
  event: string | null;
  filter: EventFilter | null;
  units: Partial<Record<WindowUnit, number>>;
  props: Map<string, MutableProp>;
  seen: boolean;
}

const UNIT_ORDER: readonly WindowUnit[] = ['d', 'h', 'm'];

/** Derives series specs, profile paths and the longest window from compiled expressions. */
export function aggregationNeeds(exprs: readonly CompiledExpression[]): {
  series: SeriesSpec[];
  profilePaths: (readonly string[])[];
  maxWindowMs: number;
} {
  const series = new Map<string, MutableSeries>();
  const paths = new Map<string, readonly string[]>();
  let maxWindowMs = 0;
  for (const e of exprs) {
    for (const p of e.requirements.profile) paths.set(pathKey(p), p);
    for (const ref of e.requirements.aggregates) {
      const m = ref.metric;
      // Top-level *_ago metrics use the profile's global first/last seen: no series needed.
      if (ref.event === null && ref.filter === null && !('window' in m) && m.kind !== 'last') continue;
      const id = seriesIdOf(ref.event, ref.filter?.id ?? null);
      let s = series.get(id);
      if (s === undefined) {
        s = { event: ref.event, filter: ref.filter, units: {}, props: new Map(), seen: false };
        series.set(id, s);
      }
      if ('window' in m) {
        const { unit, n } = m.window;
        s.units[unit] = Math.max(s.units[unit] ?? 0, n);
        maxWindowMs = Math.max(maxWindowMs, windowMs(m.window));
      }
      if (m.kind === 'last_seen_minutes_ago' || m.kind === 'first_seen_days_ago') s.seen = true;
      if ('property' in m) {
        const pid = propertyIdOf(m.property);
        let p = s.props.get(pid);
        if (p === undefined) {
          p = { path: m.property, numeric: new Set(), distinct: new Set(), last: false };
          s.props.set(pid, p);
        }
        if (m.kind === 'last') p.last = true;
        else if (m.kind === 'distinct_count') p.distinct.add(m.window.unit);
        else p.numeric.add(m.window.unit);
      }
    }
  }
  const specs: SeriesSpec[] = [...series.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, s]) => ({
      id,
      event: s.event,
      filter: s.filter,
      units: s.units,
      seen: s.seen,
      props: [...s.props.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([pid, p]) => ({
          id: pid,
          path: p.path,
          numericUnits: UNIT_ORDER.filter((u) => p.numeric.has(u)),
          distinctUnits: UNIT_ORDER.filter((u) => p.distinct.has(u)),
          last: p.last,
        })),
    }));
  const profilePaths = [...paths.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
  return { series: specs, profilePaths, maxWindowMs };
}
