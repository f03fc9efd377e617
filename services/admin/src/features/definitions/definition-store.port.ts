import type { Definition, DefinitionKind } from '@tinycdp/engine';
import type { DefinitionDraft } from './definition-draft';
import type { PageRequest } from './pagination';

export type DefinitionStatus = 'live' | 'backfilling';
export type DefinitionOp = 'create' | 'update' | 'delete';

export interface StoredDefinition {
  readonly kind: DefinitionKind;
  readonly key: string;
  /** The definition without its version (the version lives beside it). */
  readonly body: DefinitionDraft;
  readonly version: number;
  readonly status: DefinitionStatus;
  readonly progress: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deletedAt: string | null;
}

export interface DefinitionHistoryEntry {
  readonly version: number;
  readonly op: DefinitionOp;
  /** The definition as of this version; null for a delete. */
  readonly definition: Definition | null;
  /** Id of the API key that made the change. */
  readonly actor: string | null;
  readonly at: string;
}

/**
 * Persistence of definitions, their history and the definitions outbox. Every write method must be
 * called on the store handed to `transaction`, so a change, its history row and its outbox row commit
 * together.
 */
export interface DefinitionStore {
  transaction<T>(fn: (store: DefinitionStore) => Promise<T>): Promise<T>;
  /** Serializes catalog writes (check-then-write of references) until the transaction ends. */
  lockCatalog(): Promise<void>;
  /** Every non-deleted definition of every kind. */
  listLive(): Promise<StoredDefinition[]>;
  get(kind: DefinitionKind, key: string, opts?: { includeDeleted?: boolean }): Promise<StoredDefinition | null>;
  /** Up to `limit + 1` live definitions of `kind` after `after`, in key order. */
  page(kind: DefinitionKind, req: PageRequest): Promise<StoredDefinition[]>;
  /** Inserts or replaces (also revives a deleted row) with the given version. */
  save(body: DefinitionDraft, version: number, at: Date): Promise<StoredDefinition>;
  markDeleted(kind: DefinitionKind, key: string, version: number, at: Date): Promise<void>;
  appendHistory(entry: {
    kind: DefinitionKind;
    key: string;
    version: number;
    op: DefinitionOp;
    definition: Definition | null;
    actor: string | null;
    at: Date;
  }): Promise<void>;
  /** Queues a record for the definitions topic; `payload` null is a tombstone. */
  appendOutbox(topicKey: string, payload: Definition | null, at: Date): Promise<void>;
  /** Oldest first. */
  history(kind: DefinitionKind, key: string): Promise<DefinitionHistoryEntry[]>;
}
