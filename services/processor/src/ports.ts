/**
 * What the processor needs from the outside world. Redis (libs/redis) and the embedded backend
 * (libs/embedded) implement these; the processor never sees a client library.
 */
export type {
  LoadedProfile,
  ProfileWrite,
  WriteResult,
  ProfileRepository,
  OutRecord,
  RecordSink,
  LogMessage,
  FenceClaim,
  RolloutStore,
  MembershipChange,
  SegmentMembersWriter,
} from '@tinycdp/engine';
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
