import { AppError, type Clock } from '@tinycdp/common';
import { definitionTopicKey, type Definition, type DefinitionKind } from '@tinycdp/engine';
import type { Logger } from 'pino';
import { definitionWrites } from '../../metrics';
import { Catalog, nodeId } from './catalog';
import type { DefinitionDraft } from './definition-draft';
import type { DefinitionHistoryEntry, DefinitionStore, StoredDefinition } from './definition-store.port';
import { parsePageRequest, toPage } from './pagination';
import { checkPrecondition } from './preconditions';
import { rolloutView } from '../rollout/rollout-overlay';
import type { RolloutStatusReader } from '../rollout/rollout-status-reader.port';

/** What clients get back: the definition, its version and bookkeeping. */
export type DefinitionView = Definition & {
  readonly status: StoredDefinition['status'];
  readonly progress: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
};

export interface KindParsers {
  /** POST body → draft. Throws AppError('validation_failed'). */
  create(body: unknown): DefinitionDraft;
  /** PUT body → draft for the key in the path. Throws AppError('validation_failed'). */
  replace(key: string, body: unknown): DefinitionDraft;
}

export interface DefinitionServiceDeps {
  readonly kind: DefinitionKind;
  readonly parsers: KindParsers;
  readonly store: DefinitionStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called after a change committed (wakes the outbox relay). */
  readonly onCommitted?: () => void;
  /** Rollout status reported by the processors; when set it replaces the stored status/progress. */
  readonly rollout?: RolloutStatusReader;
}

/** Expected version: null = unconditional, 'any' = must exist, else one of these versions. */
export type Expected = null | 'any' | readonly number[];

/** The definition with its version; `kind` and `key` first (jsonb does not keep key order). */
export function toDefinition(body: DefinitionDraft, version: number): Definition {
  const { kind, key, ...rest } = body;
  return { kind, key, ...rest, version } as Definition;
}

export function toView(s: StoredDefinition): DefinitionView {
  return {
    ...toDefinition(s.body, s.version),
    status: s.status,
    progress: s.progress,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/**
 * Rules for one kind of definition: validation against the current catalog (names, types, cycles,
 * dependents), optimistic concurrency, history, and the outbox record committed with every change.
 */
export class DefinitionService {
  readonly kind: DefinitionKind;
  private readonly d: DefinitionServiceDeps;

  constructor(deps: DefinitionServiceDeps) {
    this.d = deps;
    this.kind = deps.kind;
  }

  /** Throws AppError('bad_request') on a bad limit or cursor. */
  async list(query: Record<string, unknown>): Promise<{ items: DefinitionView[]; nextCursor: string | null }> {
    const req = parsePageRequest(query);
    const rows = await this.d.store.page(this.kind, req);
    const page = toPage(rows, req.limit);
    return { items: await this.withRollout(page.items.map(toView)), nextCursor: page.nextCursor };
  }

  /** Throws AppError('not_found'). */
  async get(key: string): Promise<DefinitionView> {
    const s = await this.d.store.get(this.kind, key);
    if (!s) throw this.notFound(key);
    return (await this.withRollout([toView(s)]))[0]!;
  }

  /** Overlays what the processors reported about rolling each definition out (traits and segments). */
  private async withRollout(views: DefinitionView[]): Promise<DefinitionView[]> {
    if (!this.d.rollout || this.kind === 'flag' || views.length === 0) return views;
    const reports = await this.d.rollout.read(views.map((v) => definitionTopicKey(v.kind, v.key)));
    return views.map((v, i) => ({ ...v, ...rolloutView(v.version, reports[i] ?? null) }));
  }

  /** Throws AppError('not_found') when the key never existed. */
  async history(key: string): Promise<DefinitionHistoryEntry[]> {
    const entries = await this.d.store.history(this.kind, key);
    if (entries.length === 0) throw this.notFound(key);
    return entries;
  }

  /** Throws validation_failed (400), conflict (409: key exists). */
  async create(body: unknown, actor: string | null): Promise<DefinitionView> {
    const draft = this.d.parsers.create(body);
    return this.write('create', draft.key, actor, async (store, existing) => {
      if (existing && existing.deletedAt === null) {
        throw new AppError('conflict', `${this.kind} "${draft.key}" already exists`, {
          details: { kind: this.kind, key: draft.key, version: existing.version },
        });
      }
      await this.validate(store, draft, false);
      return draft;
    });
  }

  /** Throws validation_failed, not_found, precondition_failed, conflict (would break dependents). */
  async replace(key: string, body: unknown, expected: Expected, actor: string | null): Promise<DefinitionView> {
    const draft = this.d.parsers.replace(key, body);
    return this.write('update', draft.key, actor, async (store, existing) => {
      if (!existing || existing.deletedAt !== null) throw this.notFound(key);
      checkPrecondition(expected, existing.version);
      await this.validate(store, draft, true);
      return draft;
    });
  }

  /** Throws not_found, precondition_failed, conflict (still referenced; details.usedBy lists users). */
  async remove(key: string, expected: Expected, actor: string | null): Promise<{ kind: DefinitionKind; key: string; version: number }> {
    const at = new Date(this.d.clock.now());
    const out = await this.d.store.transaction(async (store) => {
      await store.lockCatalog();
      const existing = await store.get(this.kind, key);
      if (!existing) throw this.notFound(key);
      checkPrecondition(expected, existing.version);
      const live = await store.listLive();
      const users = new Catalog(live.map((s) => s.body)).usersOf(this.kind, key);
      if (users.length > 0) {
        throw new AppError('conflict', `${this.kind} "${key}" is used by other definitions`, {
          details: { usedBy: users },
        });
      }
      const version = existing.version + 1;
      await store.markDeleted(this.kind, key, version, at);
      await store.appendHistory({ kind: this.kind, key, version, op: 'delete', definition: null, actor, at });
      await store.appendOutbox(definitionTopicKey(this.kind, key), null, at);
      return { kind: this.kind, key, version };
    });
    this.committed('delete', key, out.version, actor);
    return out;
  }

  private async write(
    op: 'create' | 'update',
    key: string,
    actor: string | null,
    prepare: (store: DefinitionStore, existing: StoredDefinition | null) => Promise<DefinitionDraft>,
  ): Promise<DefinitionView> {
    const at = new Date(this.d.clock.now());
    const saved = await this.d.store.transaction(async (store) => {
      await store.lockCatalog();
      const existing = await store.get(this.kind, key, { includeDeleted: true });
      const draft = await prepare(store, existing);
      // Versions keep increasing across delete and re-create: topic consumers compare versions.
      const version = (existing?.version ?? 0) + 1;
      const s = await store.save(draft, version, at);
      const definition = toDefinition(draft, version);
      await store.appendHistory({ kind: this.kind, key, version, op, definition, actor, at });
      await store.appendOutbox(definitionTopicKey(this.kind, key), definition, at);
      return s;
    });
    this.committed(op, key, saved.version, actor);
    return toView(saved);
  }

  /**
   * Checks `draft` against the catalog it would join. Throws validation_failed with every diagnostic
   * (and the requirements), validation_failed for a reference cycle, or — for an update — conflict
   * when definitions that use it would stop compiling.
   */
  private async validate(store: DefinitionStore, draft: DefinitionDraft, isUpdate: boolean): Promise<void> {
    const live = (await store.listLive()).map((s) => s.body);
    const next = [...live.filter((b) => !(b.kind === draft.kind && b.key === draft.key)), draft];
    const catalog = new Catalog(next);
    const check = catalog.checkDefinition(draft);
    if (!check.valid) {
      const first = check.diagnostics.find((d) => d.severity === 'error') ?? check.diagnostics[0];
      throw new AppError('validation_failed', first ? `${first.field}: ${first.message}` : 'invalid expression', {
        details: { field: first?.field, diagnostics: check.diagnostics, requirements: check.requirements },
      });
    }
    const cycle = catalog.cycleThrough(draft.kind, draft.key);
    if (cycle) {
      throw new AppError('validation_failed', `reference cycle: ${cycle.join(' → ')}`, {
        details: { field: draft.kind === 'trait' ? 'expression' : 'rule', cycle, requirements: check.requirements },
      });
    }
    if (!isUpdate) return;
    const broken = catalog
      .usersOf(draft.kind, draft.key)
      .map((u) => {
        const def = next.find((b) => b.kind === u.kind && b.key === u.key)!;
        return { ...u, check: catalog.checkDefinition(def) };
      })
      .filter((u) => !u.check.valid)
      .map((u) => ({ kind: u.kind, key: u.key, diagnostics: u.check.diagnostics }));
    if (broken.length > 0) {
      throw new AppError('conflict', `the change would break definitions that use ${nodeId(draft.kind, draft.key)}`, {
        details: { usedBy: broken },
      });
    }
  }

  private committed(op: string, key: string, version: number, actor: string | null): void {
    definitionWrites.inc({ kind: this.kind, op });
    this.d.logger.info({ kind: this.kind, key, version, op, actor }, 'definition_changed');
    this.d.onCommitted?.();
  }

  private notFound(key: string): AppError {
    return new AppError('not_found', `${this.kind} "${key}" not found`, { details: { kind: this.kind, key } });
  }
}
