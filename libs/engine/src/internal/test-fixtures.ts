/**
 * Test helpers: hand-built compiled expressions and a table-driven stand-in compiler, so engine tests
 * do not depend on the DSL's parser. Not exported from the package index.
 */
import type { Json } from '@tinycdp/common';
import type {
  AggregateMetric,
  AggregateRef,
  CheckContext,
  CompileResult,
  CompiledExpression,
  Diagnostic,
  EvalEnv,
  EventFilter,
  ExprType,
  Requirements,
  Value,
  WindowUnit,
} from '@tinycdp/dsl';
import type { CdpEvent } from '@tinycdp/events';

export function win(spec: string): { n: number; unit: WindowUnit } {
  const m = /^(\d+)([dhm])$/.exec(spec);
  if (!m) throw new Error(`bad window ${spec}`);
  return { n: Number(m[1]), unit: m[2] as WindowUnit };
}

export function ref(event: string | null, metric: AggregateMetric, filter: EventFilter | null = null): AggregateRef {
  const m = metric;
  const w = 'window' in m ? `_${m.window.n}${m.window.unit}` : '';
  const p = 'property' in m ? `(${m.property.join('.')}${'window' in m ? '' : ''})` : '';
  const id = `${event === null ? '' : `events[${JSON.stringify(event)}].`}${filter ? `where(${filter.id}).` : ''}${m.kind}${p}${w}`;
  return { event, filter, metric, id };
}

export const count = (event: string | null, w: string, filter: EventFilter | null = null): AggregateRef =>
  ref(event, { kind: 'count', window: win(w) }, filter);
export const uniqueDays = (event: string, w: string): AggregateRef => ref(event, { kind: 'unique_days', window: win(w) });
export const propAgg = (
  event: string,
  kind: 'sum' | 'avg' | 'min' | 'max' | 'distinct_count',
  prop: string,
  w: string,
): AggregateRef => ref(event, { kind, property: ['properties', prop], window: win(w) });
export const lastProp = (event: string, prop: string): AggregateRef =>
  ref(event, { kind: 'last', property: ['properties', prop] });
export const lastSeen = (event: string | null = null): AggregateRef => ref(event, { kind: 'last_seen_minutes_ago' });
export const firstSeen = (event: string | null = null): AggregateRef => ref(event, { kind: 'first_seen_days_ago' });

export interface ExprParts {
  type?: ExprType;
  aggregates?: AggregateRef[];
  profile?: string[][];
  traits?: string[];
  segments?: string[];
  context?: string[][];
}

export function expr(source: string, parts: ExprParts, fn: (env: EvalEnv) => Value): CompiledExpression {
  const aggregates = parts.aggregates ?? [];
  const requirements: Requirements = {
    aggregates,
    profile: parts.profile ?? [],
    traits: parts.traits ?? [],
    segments: parts.segments ?? [],
    context: parts.context ?? [],
    timeDependent: aggregates.some(
      (a) => 'window' in a.metric || a.metric.kind === 'last_seen_minutes_ago' || a.metric.kind === 'first_seen_days_ago',
    ),
  };
  return {
    source,
    type: parts.type ?? 'boolean',
    requirements,
    evaluate: (env) => {
      try {
        return fn(env);
      } catch {
        return null;
      }
    },
  };
}

const num = (v: Value): number | null => (typeof v === 'number' ? v : null);
export const gte = (v: Value, n: number): boolean => num(v) !== null && num(v)! >= n;
export const lt = (v: Value, n: number): boolean => num(v) !== null && num(v)! < n;

/** A comparison expression `<aggregate> <op> <n>`. */
export function aggCmp(source: string, a: AggregateRef, op: '>=' | '<' | '>' | '==', n: number): CompiledExpression {
  return expr(source, { aggregates: [a] }, (env) => {
    const v = num(env.aggregate(a));
    if (v === null) return false;
    return op === '>=' ? v >= n : op === '<' ? v < n : op === '>' ? v > n : v === n;
  });
}

function diag(code: Diagnostic['code'], message: string): Diagnostic {
  return { code, severity: 'error', message, line: 1, column: 1, offset: 0, length: 1, rendered: '^' };
}

/** A stand-in compiler: sources map to builders; trait/segment references are checked like the DSL. */
export function tableCompiler(table: Record<string, () => CompiledExpression>) {
  return (source: string, ctx: CheckContext): CompileResult => {
    const build = table[source];
    if (build === undefined) return { ok: false, diagnostics: [diag('syntax_error', `unknown source ${source}`)] };
    const e = build();
    for (const t of e.requirements.traits) {
      if (t === ctx.selfKey && ctx.kind === 'trait') return { ok: false, diagnostics: [diag('cycle', 'self')] };
      if (!ctx.traits.has(t)) return { ok: false, diagnostics: [diag('unknown_trait', t)] };
    }
    for (const s of e.requirements.segments) {
      if (!ctx.segments.has(s)) return { ok: false, diagnostics: [diag('unknown_segment', s)] };
    }
    return { ok: true, expr: e, warnings: [] };
  };
}

let seq = 0;
/** A normalized CdpEvent for tests. */
export function ev(partial: Partial<CdpEvent> & { timestamp: string }): CdpEvent {
  seq++;
  return {
    type: 'track',
    messageId: `m${seq}`,
    userId: 'u1',
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

export const track = (event: string, timestamp: string, properties: Record<string, Json> = {}, userId = 'u1'): CdpEvent =>
  ev({ type: 'track', event, timestamp, properties, userId });

export const identify = (timestamp: string, traits: Record<string, Json>, userId = 'u1'): CdpEvent =>
  ev({ type: 'identify', timestamp, traits, userId });

export const ms = (iso: string): number => new Date(iso).getTime();
