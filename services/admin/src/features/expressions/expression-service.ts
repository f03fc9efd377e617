import { AppError, isPlainObject, type Clock, type Json, type JsonObject } from '@tinycdp/common';
import { compile } from '@tinycdp/dsl';
import {
  buildPlan,
  emptyProfile,
  evaluateExpression,
  type Definition,
  type DefinitionKind,
  type ProfileState,
} from '@tinycdp/engine';
import { z } from 'zod';
import { parseBody } from '../definitions/body-rules';
import { Catalog, requirementsJson, type ExpressionCheck, type RequirementsJson } from '../definitions/catalog';
import { toDefinition } from '../definitions/definition-service';
import type { ProfileReader } from '../profiles/profile-reader.port';
import type { CatalogReader } from './catalog-reader.port';

const kind = z.enum(['trait', 'segment', 'flag']);
const expression = z.string().min(1, 'expression is required').max(4000);

const validateSchema = z.strictObject({
  kind,
  expression: z.string().max(4000),
  /** Optional: the key the expression would be saved under (reports self references). */
  key: z.string().optional(),
});

const testSchema = z
  .strictObject({
    kind,
    expression,
    key: z.string().optional(),
    userId: z.string().min(1).max(512).optional(),
    /** An inline profile state (partial; missing fields are empty). */
    profile: z.record(z.string(), z.json()).optional(),
    /** What `context.*` reads. */
    context: z.record(z.string(), z.json()).optional(),
    /** Evaluate as of this instant (ISO-8601 or ms); default now. */
    at: z.union([z.string(), z.number()]).optional(),
  })
  .refine((b) => (b.userId === undefined) !== (b.profile === undefined), {
    message: 'give exactly one of userId or profile',
    path: ['userId'],
  });

export interface ExpressionTestResult {
  readonly kind: DefinitionKind;
  readonly type: string;
  readonly value: Json;
  /** Every input the expression read, by name (aggregate id, `profile.x`, `trait("k")`, …). */
  readonly inputs: Record<string, Json>;
  readonly requirements: RequirementsJson;
  readonly profileId: string;
  readonly at: string;
}

/** Expression checks and dry runs against the current definitions; changes nothing. */
export class ExpressionService {
  constructor(
    private readonly catalog: CatalogReader,
    private readonly clock: Clock,
    private readonly profiles?: ProfileReader,
  ) {}

  /** Throws validation_failed only for a malformed request; an invalid expression is a normal answer. */
  async validate(body: unknown): Promise<ExpressionCheck & { kind: DefinitionKind }> {
    const b = parseBody(validateSchema, body);
    const catalog = await this.currentCatalog();
    const field = b.kind === 'trait' ? 'expression' : 'rule';
    return { kind: b.kind, ...catalog.catalog.checkExpression(b.kind, b.expression, field, b.kind === 'flag' ? undefined : b.key) };
  }

  /**
   * Evaluates an expression for one profile (by `userId`, or an inline `profile`) at `at` (default now).
   * Throws validation_failed (bad request or invalid expression, with diagnostics), not_found (unknown
   * userId), unavailable (no profile reader configured).
   */
  async test(body: unknown): Promise<ExpressionTestResult> {
    const b = parseBody(testSchema, body);
    const { catalog, definitions } = await this.currentCatalog();
    const field = b.kind === 'trait' ? 'expression' : 'rule';
    const check = catalog.checkExpression(b.kind, b.expression, field, b.kind === 'flag' ? undefined : b.key);
    const compiled = compile(b.expression, {
      kind: b.kind,
      traits: catalog.traitTypes(),
      segments: catalog.segmentKeys(),
      ...(b.kind !== 'flag' && b.key ? { selfKey: b.key } : {}),
    });
    if (!check.valid || !compiled.ok) {
      throw new AppError('validation_failed', 'the expression does not compile', {
        details: { field, diagnostics: check.diagnostics, requirements: check.requirements },
      });
    }
    const now = this.instant(b.at);
    const state = b.profile !== undefined ? inlineProfile(b.profile) : await this.loadProfile(b.userId!);
    const { plan } = buildPlan(definitions);
    const res = evaluateExpression(compiled.expr, state, plan, now, (b.context ?? {}) as JsonObject);
    return {
      kind: b.kind,
      type: compiled.expr.type,
      value: res.value,
      inputs: res.inputs,
      requirements: requirementsJson(compiled.expr.requirements),
      profileId: state.id,
      at: new Date(now).toISOString(),
    };
  }

  private async currentCatalog(): Promise<{ catalog: Catalog; definitions: Definition[] }> {
    const live = await this.catalog.listLive();
    return {
      catalog: new Catalog(live.map((s) => s.body)),
      definitions: live.map((s) => toDefinition(s.body, s.version)),
    };
  }

  private instant(at: string | number | undefined): number {
    if (at === undefined) return this.clock.now();
    const t = typeof at === 'number' ? at : Date.parse(at);
    if (!Number.isFinite(t)) throw new AppError('validation_failed', 'at must be an ISO-8601 time or epoch ms', { details: { field: 'at' } });
    return t;
  }

  private async loadProfile(userId: string): Promise<ProfileState> {
    if (!this.profiles) {
      throw new AppError('unavailable', 'profile lookup is not configured in this admin instance; pass an inline profile', {
        details: { field: 'userId' },
      });
    }
    const state = await this.profiles.get(userId);
    if (!state) throw new AppError('not_found', `profile "${userId}" not found`, { details: { userId } });
    return state;
  }
}

/** An inline test profile: any subset of ProfileState fields over an empty profile. */
function inlineProfile(p: Record<string, Json>): ProfileState {
  const id = typeof p.id === 'string' && p.id !== '' ? p.id : typeof p.userId === 'string' ? p.userId : 'test-profile';
  const base = emptyProfile(id);
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(p)) {
    if (!(k in base)) {
      throw new AppError('validation_failed', `profile.${k} is not a profile state field`, { details: { field: `profile.${k}` } });
    }
    const expected = base[k as keyof ProfileState];
    const ok =
      expected === null
        ? v === null || typeof v === 'number' || typeof v === 'string'
        : isPlainObject(expected)
          ? isPlainObject(v)
          : typeof v === typeof expected;
    if (!ok) throw new AppError('validation_failed', `profile.${k} has the wrong type`, { details: { field: `profile.${k}` } });
    merged[k] = v;
  }
  return merged as unknown as ProfileState;
}
