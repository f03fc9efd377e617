/**
 * Port: the segment membership index the processor keeps (Redis sorted set per segment; the embedded
 * MemorySegmentMembers in-process). Members come in byte order of their ids.
 */
export interface SegmentMembersReader {
  /** Up to `limit` profile ids after `after` (exclusive; null = from the start). May throw AppError('unavailable'). */
  page(segment: string, after: string | null, limit: number): Promise<string[]>;
  count(segment: string): Promise<number>;
}
