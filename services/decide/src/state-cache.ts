/**
 * Decoded profile states, reused while a profile's stored hash is unchanged. Every request still asks
 * Redis (one round trip, always fresh); the decode is skipped when the state is the one decoded last
 * time: same write id (`_w`, unique per write: apply-profile.lua), or, for a hash written without one,
 * exactly the same fields (not `_rev`: a deleted and re-created profile starts at the same `_rev`
 * again). `held` gives the write id to ask Redis with, so an unchanged profile is not even sent
 * (read-if-changed.lua). Bounded; the oldest entries go first.
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

/** A kept state decoded from a hash with a write id: valid for as long as the hash's `_w` is `writeId`. */
export interface HeldState extends DecodedState {
  readonly writeId: string;
}

interface Entry extends DecodedState {
  readonly fields: Readonly<Record<string, string>>;
  readonly size: number;
  readonly memo: AggregateMemo;
  readonly writeId: string | undefined;
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
    const writeId = fields._w;
    if (cached !== undefined && (writeId !== undefined ? cached.writeId === writeId : same(cached, fields))) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const state = decodeProfile(fields, id);
    const size = sizeOf(fields);
    if (size === 0) return { state }; // unknown profiles: nothing worth keeping
    if (cached !== undefined) this.entries.delete(id);
    const entry: Entry = { fields, size, state, memo: new Map(), writeId };
    this.entries.set(id, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return entry;
  }

  /**
   * The state kept for `id` when it came from a hash with a write id: ask Redis whether that write is
   * still the current one, and on "unchanged" use it (via `reuse`; it stays valid even if evicted meanwhile).
   */
  held(id: string): HeldState | undefined {
    const e = this.maxEntries > 0 ? this.entries.get(id) : undefined;
    return e?.writeId !== undefined ? (e as HeldState) : undefined;
  }

  /** Counts a reuse of a held state Redis confirmed unchanged. */
  reuse(held: HeldState): DecodedState {
    this.hits++;
    return held;
  }

  get size(): number {
    return this.entries.size;
  }
}
