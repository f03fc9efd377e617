import { compile, type CheckContext, type Diagnostic, type ExprType, type Requirements } from '@tinycdp/dsl';
import type { DefinitionKind } from '@tinycdp/engine';
import { expressionsOf, type DefinitionDraft } from './definition-draft';

/** A definition's identity in the reference graph: `trait:a`, `segment:b`, `flag:c`. */
export type NodeId = `${DefinitionKind}:${string}`;
export const nodeId = (kind: DefinitionKind, key: string): NodeId => `${kind}:${key}`;

export interface DiagnosticJson extends Diagnostic {
  /** Body field holding the expression, e.g. `rule` or `rules[0].when`. */
  readonly field: string;
}

export interface RequirementsJson {
  readonly aggregates: readonly { id: string; event: string | null; metric: unknown; filter: string | null }[];
  readonly profile: readonly (readonly string[])[];
  readonly traits: readonly string[];
  readonly segments: readonly string[];
  readonly context: readonly (readonly string[])[];
  readonly timeDependent: boolean;
}

/** Requirements as JSON (filters become their source text). */
export function requirementsJson(r: Requirements): RequirementsJson {
  return {
    aggregates: r.aggregates.map((a) => ({ id: a.id, event: a.event, metric: a.metric, filter: a.filter?.source ?? null })),
    profile: r.profile,
    traits: r.traits,
    segments: r.segments,
    context: r.context,
    timeDependent: r.timeDependent,
  };
}

/** Union of several expressions' requirements (a flag has one expression per rule). */
export function mergeRequirements(list: readonly RequirementsJson[]): RequirementsJson | null {
  if (list.length === 0) return null;
  if (list.length === 1) return list[0]!;
  const uniq = <T>(xs: readonly T[], id: (x: T) => string): T[] => {
    const m = new Map<string, T>();
    for (const x of xs) if (!m.has(id(x))) m.set(id(x), x);
    return [...m.values()];
  };
  return {
    aggregates: uniq(list.flatMap((r) => r.aggregates), (a) => a.id),
    profile: uniq(list.flatMap((r) => r.profile), (p) => p.join('.')),
    traits: uniq(list.flatMap((r) => r.traits), (t) => t),
    segments: uniq(list.flatMap((r) => r.segments), (t) => t),
    context: uniq(list.flatMap((r) => r.context), (p) => p.join('.')),
    timeDependent: list.some((r) => r.timeDependent),
  };
}

export interface ExpressionCheck {
  readonly valid: boolean;
  readonly type: ExprType | null;
  readonly diagnostics: readonly DiagnosticJson[];
  /** From a lenient compile (every name known) when the strict one failed; null if even that failed. */
  readonly requirements: RequirementsJson | null;
}

interface Refs {
  readonly traits: readonly string[];
  readonly segments: readonly string[];
}

/**
 * The set of live definitions, as the DSL checker sees it: which names exist, what type each trait
 * has (computed by compiling traits in dependency order), and who references whom.
 * Pure: built from a list of definitions, does no I/O.
 */
export class Catalog {
  private readonly byId = new Map<NodeId, DefinitionDraft>();
  private readonly refs = new Map<NodeId, Refs>();
  private readonly types = new Map<string, ExprType>();
  private readonly segments: ReadonlySet<string>;

  constructor(defs: readonly DefinitionDraft[]) {
    for (const d of defs) this.byId.set(nodeId(d.kind, d.key), d);
    this.segments = new Set(defs.filter((d) => d.kind === 'segment').map((d) => d.key));
    const lenient = this.lenientTraits();
    for (const [id, d] of this.byId) this.refs.set(id, this.collectRefs(d, lenient));
    this.computeTraitTypes();
  }

  /** Known traits with their types (unknown or unresolvable types are `any`). */
  traitTypes(): ReadonlyMap<string, ExprType> {
    return this.types;
  }

  segmentKeys(): ReadonlySet<string> {
    return this.segments;
  }

  /** Checks one expression as `kind` against this catalog. */
  checkExpression(kind: DefinitionKind, source: string, field: string, selfKey?: string): ExpressionCheck {
    const ctx: CheckContext = { kind, traits: this.types, segments: this.segments, ...(selfKey ? { selfKey } : {}) };
    const res = compile(source, ctx);
    if (res.ok) {
      return {
        valid: true,
        type: res.expr.type,
        diagnostics: res.warnings.map((d) => ({ ...d, field })),
        requirements: requirementsJson(res.expr.requirements),
      };
    }
    const lenient = compile(source, { kind: 'trait', traits: this.lenientTraits(), segments: this.segments });
    return {
      valid: false,
      type: null,
      diagnostics: res.diagnostics.map((d) => ({ ...d, field })),
      requirements: lenient.ok ? requirementsJson(lenient.expr.requirements) : null,
    };
  }

  /** Checks every expression of a definition (which must be part of this catalog). */
  checkDefinition(d: DefinitionDraft): {
    valid: boolean;
    diagnostics: DiagnosticJson[];
    requirements: RequirementsJson | null;
  } {
    const diagnostics: DiagnosticJson[] = [];
    const requirements: RequirementsJson[] = [];
    let valid = true;
    for (const e of expressionsOf(d)) {
      const c = this.checkExpression(d.kind, e.source, e.field, d.kind === 'flag' ? undefined : d.key);
      valid &&= c.valid;
      diagnostics.push(...c.diagnostics);
      if (c.requirements) requirements.push(c.requirements);
    }
    return { valid, diagnostics, requirements: mergeRequirements(requirements) };
  }

  /** Definitions that reference `kind:key` directly. */
  usersOf(kind: DefinitionKind, key: string): { kind: DefinitionKind; key: string }[] {
    const out: { kind: DefinitionKind; key: string }[] = [];
    for (const [id, r] of this.refs) {
      const d = this.byId.get(id)!;
      if (d.kind === kind && d.key === key) continue;
      const list = kind === 'trait' ? r.traits : kind === 'segment' ? r.segments : [];
      if (list.includes(key)) out.push({ kind: d.kind, key: d.key });
    }
    return out.sort((a, b) => (a.kind + a.key < b.kind + b.key ? -1 : 1));
  }

  /** A reference cycle through `kind:key`, as the list of nodes (first = last), or null. */
  cycleThrough(kind: DefinitionKind, key: string): NodeId[] | null {
    const start = nodeId(kind, key);
    const path: NodeId[] = [start];
    const seen = new Set<NodeId>();
    const dfs = (id: NodeId): NodeId[] | null => {
      for (const next of this.edges(id)) {
        if (next === start) return [...path, start];
        if (seen.has(next)) continue;
        seen.add(next);
        path.push(next);
        const found = dfs(next);
        if (found) return found;
        path.pop();
      }
      return null;
    };
    return dfs(start);
  }

  private edges(id: NodeId): NodeId[] {
    const r = this.refs.get(id);
    if (!r) return [];
    return [
      ...r.traits.map((k) => nodeId('trait', k)).filter((n) => this.byId.has(n)),
      ...r.segments.map((k) => nodeId('segment', k)).filter((n) => this.byId.has(n)),
    ];
  }

  private lenientTraits(): Map<string, ExprType> {
    const m = new Map<string, ExprType>();
    for (const d of this.byId.values()) if (d.kind === 'trait') m.set(d.key, 'any');
    return m;
  }

  private collectRefs(d: DefinitionDraft, lenient: ReadonlyMap<string, ExprType>): Refs {
    const traits = new Set<string>();
    const segments = new Set<string>();
    for (const e of expressionsOf(d)) {
      // Lenient on purpose (every known name typed `any`, result type not enforced): only references matter.
      const res = compile(e.source, { kind: 'trait', traits: lenient, segments: this.segments });
      if (!res.ok) continue;
      res.expr.requirements.traits.forEach((t) => traits.add(t));
      res.expr.requirements.segments.forEach((s) => segments.add(s));
    }
    return { traits: [...traits], segments: [...segments] };
  }

  /** Trait types in dependency order; traits in a cycle or failing to compile stay `any`. */
  private computeTraitTypes(): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const traits = [...this.byId.values()].filter((d) => d.kind === 'trait');
    for (const t of traits) this.types.set(t.key, 'any');
    const visit = (key: string): void => {
      if (state.has(key)) return;
      state.set(key, 'visiting');
      const d = this.byId.get(nodeId('trait', key));
      if (!d || d.kind !== 'trait') return;
      for (const dep of this.refs.get(nodeId('trait', key))?.traits ?? []) visit(dep);
      const res = compile(d.expression, { kind: 'trait', traits: this.types, segments: this.segments });
      this.types.set(key, res.ok ? res.expr.type : 'any');
      state.set(key, 'done');
    };
    for (const t of traits) visit(t.key);
  }
}
