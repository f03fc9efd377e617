interface Entry {
  readonly score: number;
  readonly id: string;
}

function before(a: Entry, b: Entry): boolean {
  return a.score < b.score || (a.score === b.score && a.id < b.id);
}

/**
 * A Redis-like sorted set of ids by score: ordered by (score, id), one score per id. Inserts and
 * removals are a binary search plus a splice (a memmove), reads of the lowest scores are O(k).
 */
export class SortedSchedule {
  private readonly scores = new Map<string, number>();
  private readonly entries: Entry[] = [];

  get size(): number {
    return this.entries.length;
  }

  set(id: string, score: number): void {
    const old = this.scores.get(id);
    if (old === score) return;
    if (old !== undefined) this.entries.splice(this.find({ score: old, id }), 1);
    const e = { score, id };
    this.entries.splice(this.find(e), 0, e);
    this.scores.set(id, score);
  }

  remove(id: string): void {
    const old = this.scores.get(id);
    if (old === undefined) return;
    this.entries.splice(this.find({ score: old, id }), 1);
    this.scores.delete(id);
  }

  /** Ids with score ≤ max, lowest first, at most `limit` (a negative limit means all, as in Redis). */
  upTo(max: number, limit: number): string[] {
    const out: string[] = [];
    for (const e of this.entries) {
      if (e.score > max || (limit >= 0 && out.length >= limit)) break;
      out.push(e.id);
    }
    return out;
  }

  /** First index whose entry is not before `e`. */
  private find(e: Entry): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.entries[mid]!, e)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
