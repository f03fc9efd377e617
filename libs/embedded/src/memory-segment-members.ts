import type { MembershipChange, SegmentMembers } from './rollout-ports';

/** Byte order of the UTF-8 encodings: the order of a Redis sorted set with equal scores (ZRANGEBYLEX). */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The segment membership index in memory (RedisSegmentMembers' semantics). Never throws. */
export class MemorySegmentMembers implements SegmentMembers {
  private readonly sets = new Map<string, Set<string>>();

  async apply(changes: readonly MembershipChange[]): Promise<void> {
    for (const c of changes) {
      let s = this.sets.get(c.segment);
      if (c.status === 'entered') {
        if (!s) this.sets.set(c.segment, (s = new Set()));
        s.add(c.profileId);
      } else if (s) {
        s.delete(c.profileId);
        if (s.size === 0) this.sets.delete(c.segment);
      }
    }
  }

  async drop(segments: readonly string[]): Promise<void> {
    for (const s of segments) this.sets.delete(s);
  }

  /** Sorts on every call: fine for the embedded mode's sizes. */
  async page(segment: string, after: string | null, limit: number): Promise<string[]> {
    const all = [...(this.sets.get(segment) ?? [])].sort(byteOrder);
    const from = after === null ? all : all.filter((m) => byteOrder(m, after) > 0);
    return from.slice(0, Math.max(0, limit));
  }

  async count(segment: string): Promise<number> {
    return this.sets.get(segment)?.size ?? 0;
  }
}
