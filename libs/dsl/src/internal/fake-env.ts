import type { AggregateRef, EvalEnv, Value } from '../types';

/** Test helper: an EvalEnv over plain data. Aggregates are keyed by `AggregateRef.id`. */
export interface FakeData {
  readonly aggregates?: Readonly<Record<string, Value>>;
  readonly profile?: Readonly<Record<string, Value>>;
  readonly traits?: Readonly<Record<string, Value>>;
  readonly segments?: Readonly<Record<string, Value>>;
  readonly context?: Readonly<Record<string, Value>>;
}

function walk(root: Value | undefined, path: readonly string[]): Value {
  let cur: Value | undefined = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return null;
    cur = cur[seg];
  }
  return cur ?? null;
}

export function fakeEnv(data: FakeData = {}): EvalEnv & { readonly reads: AggregateRef[] } {
  const reads: AggregateRef[] = [];
  return {
    reads,
    aggregate(ref) {
      reads.push(ref);
      return data.aggregates?.[ref.id] ?? null;
    },
    profile: (path) => walk((data.profile ?? {}) as Value, path),
    trait: (key) => (data.traits && Object.prototype.hasOwnProperty.call(data.traits, key) ? (data.traits[key] ?? null) : null),
    segment: (key) => (data.segments && Object.prototype.hasOwnProperty.call(data.segments, key) ? (data.segments[key] ?? null) : null),
    context: (path) => walk((data.context ?? {}) as Value, path),
  };
}
