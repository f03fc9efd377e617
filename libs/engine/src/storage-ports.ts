/**
 * Storage and log ports shared by the processor (which declares what it needs) and the adapters that
 * implement them (libs/redis, libs/embedded). Declared once here, in core, because an adapter lib may
 * not import a service. Types only.
 */
import type { EventDigest } from '@tinycdp/events';

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
  /** Message ids applied by this write (dedupe for 24 h). */
  readonly messageIds: readonly string[];
  /** Segment changes, JSON-encoded, queued in the profile outbox with the state. */
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
  /** The record's `tinycdp-digest` header (`@tinycdp/events` DIGEST_HEADER), when it has one. */
  readonly digest?: string;
  /**
   * That header already parsed by the source (`parseDigest`, e.g. on its fetch thread): null when the
   * record has none or it is not usable. When present, `digest` is not read.
   */
  readonly parsedDigest?: EventDigest | null;
  /** `value`'s size in bytes (-1: no value), for a source that can tell it without materializing `value`. */
  readonly valueSize?: number;
}

/** "The live path applies `series` to events of `partition` from `offset` on; the backfill below it." */
export interface FenceClaim {
  readonly series: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * What the rollout keeps outside profiles (RedisRolloutStore; MemoryRolloutStore in embedded mode):
 * a lease (one coordinator at a time), the resumable checkpoint, set-once fences per (series,
 * partition), and the rollout status per definition that admin shows. Throws AppError('unavailable').
 */
export interface RolloutStore {
  /** Takes or renews the lease for `ttlMs`; true while `owner` holds it. */
  acquireLease(owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(owner: string): Promise<void>;
  loadCheckpoint(): Promise<Record<string, string>>;
  /** Writes only while `owner` holds the lease; false (nothing written) otherwise. */
  saveCheckpoint(owner: string, set: Readonly<Record<string, string>>, del?: readonly string[]): Promise<boolean>;
  /** Set-once: returns per claim, in order, the offset that holds (the first one ever claimed). */
  claimFences(claims: readonly FenceClaim[]): Promise<number[]>;
  clearFences(series: readonly string[]): Promise<void>;
  /** Status JSON per `<kind>:<key>`; `del` removes fields (deleted definitions). */
  writeStatus(set: Readonly<Record<string, string>>, del?: readonly string[]): Promise<void>;
  readStatus(fields: readonly string[]): Promise<(string | null)[]>;
}

export interface MembershipChange {
  readonly segment: string;
  readonly profileId: string;
  readonly status: 'entered' | 'exited';
}

/** The segment membership index (a projection of published segment changes; idempotent). */
export interface SegmentMembersWriter {
  /** Applies changes in order: entered adds, exited removes. */
  apply(changes: readonly MembershipChange[]): Promise<void>;
  /** Deletes the index of segments that no longer exist. */
  drop(segments: readonly string[]): Promise<void>;
}
