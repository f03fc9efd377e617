/**
 * Decoded profile states, reused while a profile's stored hash is unchanged. Every request still reads
 * the hash from Redis (one round trip, always fresh); only the decode is skipped when the fields are
 * exactly the ones decoded last time. Exact comparison (not `_rev`): a deleted and re-created profile
 * starts at the same `_rev` again. Bounded; the oldest entries go first.
 *
 * Decoded states are shared between requests: the engine never mutates a state it is given
 * (profileView and evaluateFlag only read), and nothing here hands them out for writing.
 */
import { decodeProfile, type AggregateMemo, type ProfileState } from '@tinycdp/engine';

/** A decoded profile state and, when it is kept for reuse, the aggregate values read from it so far. */
export interface DecodedState {
  readonly state: ProfileState;
  readonly memo?: AggregateMemo;
}

interface Entry extends DecodedState {
  readonly fields: Readonly<Record<string, string>>;
  readonly size: number;
  readonly memo: AggregateMemo;
}

function sizeOf(fields: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const _ in fields) n++;
  return n;
}

/** One pass over `fields`: every field equal in `a`, and `a` has no other field. */
function same(a: Entry, fields: Readonly<Record<string, string>>): boolean {
  let n = 0;
  for (const k in fields) {
    if (a.fields[k] !== fields[k]) return false;
    n++;
  }
  return n === a.size;
}

export class StateCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 10_000) {}

  /**
   * The decoded state of `fields` (a profile hash without `_rev`) for profile `id`, with the memo of
   * aggregate values shared by every request that reuses it. Never throws.
   */
  decode(id: string, fields: Readonly<Record<string, string>>): DecodedState {
    if (this.maxEntries <= 0) return { state: decodeProfile(fields, id) };
    const cached = this.entries.get(id);
    if (cached !== undefined && same(cached, fields)) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const state = decodeProfile(fields, id);
    const size = sizeOf(fields);
    if (size === 0) return { state }; // unknown profiles: nothing worth keeping
    if (cached !== undefined) this.entries.delete(id);
    const entry: Entry = { fields, size, state, memo: new Map() };
    this.entries.set(id, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }
}
