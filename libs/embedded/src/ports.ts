/**
 * The ports the embedded backends implement. An adapter lib may not import a service, so these mirror
 * (structurally, field for field) the ports the services declare:
 * - `ProfileRepository`, `RecordSink`, `OutRecord`, `LogMessage`: services/processor/src/ports.ts
 * - `EventSink`: services/ingest/src/ports.ts
 * TypeScript's structural typing makes an implementation of one an implementation of the other; the
 * contract suites pin the behaviour (libs/embedded/src/contracts).
 */
import type { CdpEvent } from '@tinycdp/events';

export interface LoadedProfile {
  /** Engine codec fields. */
  readonly fields: Record<string, string>;
  /** Storage revision for compare-and-set; 0 when absent. */
  readonly rev: number;
  /** Of the message ids asked about, those this profile already applied. */
  readonly seen: ReadonlySet<string>;
  /** Segment changes (JSON) written with the state but not yet published. */
  readonly pending: readonly string[];
}

export interface ProfileWrite {
  readonly id: string;
  readonly expectedRev: number;
  readonly set: Record<string, string>;
  readonly del: readonly string[];
  readonly messageIds: readonly string[];
  readonly changes: readonly string[];
}

export type WriteResult =
  | { readonly ok: true; readonly rev: number; readonly pending: readonly string[] }
  | { readonly ok: false; readonly currentRev: number };

/** Profile state with compare-and-set writes. Throws AppError('unavailable', retriable) on faults. */
export interface ProfileRepository {
  load(requests: readonly { id: string; messageIds?: readonly string[] }[]): Promise<Map<string, LoadedProfile>>;
  write(w: ProfileWrite, now: number): Promise<WriteResult>;
  ackPending(acks: readonly { id: string; count: number }[]): Promise<void>;
  remove(id: string): Promise<void>;
  resolveLinks(anonymousIds: readonly string[]): Promise<Map<string, string>>;
  /** Links anonymousId → userId unless already linked; returns the user it is linked to. */
  link(anonymousId: string, userId: string): Promise<string>;
  schedule(entries: readonly { partition: number; id: string; dueAt: number | null }[]): Promise<void>;
  due(partition: number, now: number, limit: number): Promise<string[]>;
}

/** What admin listing, rebuild and backfill need on top of the processor's port. */
export interface ProfileIndex {
  /** SSCAN-like: start with cursor "0", stop when the returned cursor is "0" again. */
  listProfileIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }>;
}

export interface OutRecord {
  readonly key: string;
  readonly value: string;
  readonly headers?: Record<string, string>;
}

/** Appends records to a topic (segment changes, DLQ); resolves once durable. */
export interface RecordSink {
  send(records: readonly OutRecord[]): Promise<void>;
}

/** A message from the event log, whatever carries it (Kafka or the embedded log). */
export interface LogMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  /** Broker/log append time, ms since epoch (as a string, like kafkajs). */
  readonly timestamp: string;
}

/** Ingest's port: appends normalized events to the events topic; resolves once durable. */
export interface EventSink {
  append(records: readonly { key: string; value: CdpEvent }[]): Promise<void>;
  /** Health probe: resolves if the log is reachable. */
  ping?(): Promise<void>;
}

/** Definitions materialized for decide (RedisDefinitionCache's shape). */
export interface DefinitionCache {
  /** Writes one definition (JSON, or null when deleted) if newer; announces the change. */
  put(field: string, version: number, json: string | null): Promise<boolean>;
  /** Every materialized definition, field → JSON (tombstones included). */
  all(): Promise<Record<string, string>>;
}
