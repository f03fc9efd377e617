import { compile, type ExprType } from '@tinycdp/dsl';
import { ApiClient, explainStatus } from './api-client';
import { CliError, UsageError } from './errors';

export const EXPR_TYPES: readonly ExprType[] = ['boolean', 'number', 'string', 'list', 'duration', 'null', 'any'];

/**
 * `--traits a,b:number` → a: any, b: number. Throws UsageError on an empty name or unknown type.
 */
export function parseTraitList(spec: string): Map<string, ExprType> {
  const out = new Map<string, ExprType>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const [name, type, extra] = item.split(':').map((s) => s.trim());
    if (!name || extra !== undefined) throw new UsageError(`--traits: bad item "${item}" (expected name or name:type)`);
    if (type !== undefined && !(EXPR_TYPES as readonly string[]).includes(type)) {
      throw new UsageError(`--traits: unknown type "${type}" for ${name} (one of ${EXPR_TYPES.join(', ')})`);
    }
    out.set(name, (type as ExprType | undefined) ?? 'any');
  }
  return out;
}

/** `--segments x,y` → {x, y}. */
export function parseSegmentList(spec: string): Set<string> {
  return new Set(
    spec
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}

export interface TraitSource {
  readonly key: string;
  readonly expression: string;
}

/**
 * Result types of traits, computed in dependency order (a trait reading another needs that one's type).
 * Traits that fail to compile or sit in a cycle are `any`. Pure.
 */
export function traitTypesOf(traits: readonly TraitSource[], segments: ReadonlySet<string>): Map<string, ExprType> {
  const byKey = new Map(traits.map((t) => [t.key, t]));
  const lenient = new Map<string, ExprType>(traits.map((t) => [t.key, 'any']));
  const types = new Map<string, ExprType>(lenient);
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (key: string): void => {
    if (state.has(key)) return;
    const t = byKey.get(key);
    if (!t) return;
    state.set(key, 'visiting');
    const deps = compile(t.expression, { kind: 'trait', traits: lenient, segments });
    if (deps.ok) for (const d of deps.expr.requirements.traits) if (state.get(d) !== 'visiting') visit(d);
    const res = compile(t.expression, { kind: 'trait', traits: types, segments, selfKey: key });
    types.set(key, res.ok ? res.expr.type : 'any');
    state.set(key, 'done');
  };
  for (const t of traits) visit(t.key);
  return types;
}

interface Page {
  items?: { key?: unknown; expression?: unknown }[];
  nextCursor?: unknown;
}

async function fetchAll(client: ApiClient, kind: 'traits' | 'segments'): Promise<{ key: string; expression?: string }[]> {
  const out: { key: string; expression?: string }[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const q: string = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : '?limit=200';
    const res = await client.request('GET', `/v1/admin/${kind}${q}`, undefined, { retries: 2 });
    if (res.status !== 200) throw new CliError(`GET /v1/admin/${kind}: ${explainStatus(res)}`);
    const page = res.body as Page | null;
    for (const item of page?.items ?? []) {
      if (typeof item.key !== 'string') continue;
      out.push(typeof item.expression === 'string' ? { key: item.key, expression: item.expression } : { key: item.key });
    }
    cursor = typeof page?.nextCursor === 'string' && page.nextCursor !== '' ? page.nextCursor : null;
    if (!cursor) break;
  }
  return out;
}

/**
 * The live trait types and segment names of a running TinyCDP (admin API; needs an admin key).
 * Throws CliError / UnreachableError.
 */
export async function fetchLiveNames(
  client: ApiClient,
): Promise<{ traits: Map<string, ExprType>; segments: Set<string> }> {
  const [traits, segments] = await Promise.all([fetchAll(client, 'traits'), fetchAll(client, 'segments')]);
  const segmentKeys = new Set(segments.map((s) => s.key));
  const sources = traits.filter((t): t is TraitSource => typeof t.expression === 'string');
  return { traits: traitTypesOf(sources, segmentKeys), segments: segmentKeys };
}
