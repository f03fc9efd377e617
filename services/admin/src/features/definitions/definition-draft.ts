import { assertNever } from '@tinycdp/common';
import type { Definition, DefinitionKind } from '@tinycdp/engine';

type Draft<D> = D extends Definition ? Omit<D, 'version'> : never;
/** A definition as written by a client, before it gets a version. */
export type DefinitionDraft = Draft<Definition>;

export interface ExpressionField {
  /** Body field holding the expression, e.g. `expression`, `rule`, `rules[1].when`. */
  readonly field: string;
  readonly source: string;
}

/** Every expression of a definition, with the body field it came from. */
export function expressionsOf(d: DefinitionDraft): ExpressionField[] {
  switch (d.kind) {
    case 'trait':
      return [{ field: 'expression', source: d.expression }];
    case 'segment':
      return [{ field: 'rule', source: d.rule }];
    case 'flag':
      return d.rules.map((r, i) => ({ field: `rules[${i}].when`, source: r.when }));
    default:
      return assertNever(d, 'definition kind');
  }
}

export const DEFINITION_KINDS: readonly DefinitionKind[] = ['trait', 'segment', 'flag'];

/** Plural path segment of a kind: `/v1/admin/traits`. */
export function kindPath(kind: DefinitionKind): string {
  return `${kind}s`;
}
