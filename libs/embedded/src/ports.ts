/**
 * The ports the embedded backends implement. The processor's storage and log ports are declared once in
 * core (@tinycdp/engine storage-ports) and re-exported here. `EventSink` mirrors ingest's port
 * structurally (an adapter lib may not import a service); the contract suites pin the behaviour
 * (libs/embedded/src/contracts).
 */
import type { CdpEvent } from '@tinycdp/events';
import type { OutRecord, RecordSink, LogMessage, LoadedProfile, ProfileWrite, WriteResult, ProfileRepository } from '@tinycdp/engine';

export type { OutRecord, RecordSink, LogMessage, LoadedProfile, ProfileWrite, WriteResult, ProfileRepository };

/** What admin listing, rebuild and backfill need on top of the processor's port. */
export interface ProfileIndex {
  /** SSCAN-like: start with cursor "0", stop when the returned cursor is "0" again. */
  listProfileIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }>;
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
