/**
 * What the processor needs from the outside world. Redis (libs/redis) and the embedded backend
 * (libs/embedded) implement these; the processor never sees a client library.
 */
export type { LoadedProfile, ProfileWrite, WriteResult, ProfileRepository, OutRecord, RecordSink, LogMessage } from '@tinycdp/engine';
import type { LogMessage } from '@tinycdp/engine';

/** Where events come from: a consumer group over the events log (Kafka, or the embedded file log). */
export interface EventSource {
  /**
   * Starts delivering batches (one partition each, in offset order). A batch's offsets are committed
   * only after `handler` resolved; if it throws, the same messages are delivered again.
   */
  start(handler: (messages: readonly LogMessage[]) => Promise<void>, onAssignment: (partitions: number[]) => void): Promise<void>;
  stop(): Promise<void>;
  /** Consumer lag per partition, for health and metrics. */
  lag(): Promise<LagReport[]>;
}

export interface LagReport {
  readonly partition: number;
  readonly committed: string;
  readonly high: string;
  readonly lag: number;
}

/** The definitions log (compacted topic, or in-process in embedded mode). */
export interface DefinitionSource {
  /** Delivers every record from the beginning, then live ones; resolves once caught up. */
  start(onRecords: (records: { key: string; value: string | null }[]) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** Every profile id, for full passes (rollout re-evaluation). RedisProfileStore / MemoryProfileRepository. */
export interface ProfileIndex {
  /** SSCAN-like: start with cursor "0", stop when "0" comes back; an id may come twice. */
  listProfileIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }>;
  countProfileIds(): Promise<number>;
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

/** The events log read by position, for backfills (Kafka; the embedded file log can implement it too). */
export interface EventLogReader {
  /** Oldest retained offset and next offset to be written, per partition, as of now. */
  highWatermarks(): Promise<Map<number, { low: number; high: number }>>;
  /**
   * Up to `max` messages of `partition` with offset >= `from`, in offset order (fewer is fine; [] only
   * when nothing exists at or after `from` below the high watermark). Throws AppError('unavailable').
   */
  read(partition: number, from: number, max: number): Promise<LogMessage[]>;
  /** Frees the reader's resources (it may be used again afterwards). */
  close(): Promise<void>;
}
