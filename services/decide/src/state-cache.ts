/**
 * Decoded profile states, reused while a profile's stored hash is unchanged. Every request still reads
 * the hash from Redis (one round trip, always fresh); only the decode is skipped when the fields are
 * exactly the ones decoded last time. Exact comparison (not `_rev`): a deleted and re-created profile
 * starts at the same `_rev` again. Bounded; the oldest entries go first.
 *
 * Decoded states are shared between requests: the engine never mutates a state it is given
 * (profileView and evaluateFlag only read), and nothing here hands them out for writing.
 */
import { decodeProfile, type ProfileState } from '@tinycdp/engine';

interface Entry {
  readonly fields: Readonly<Record<string, string>>;
  readonly size: number;
  readonly state: ProfileState;
}

function sizeOf(fields: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const _ in fields) n++;
  return n;
}

function same(a: Entry, fields: Readonly<Record<string, string>>, size: number): boolean {
  if (a.size !== size) return false;
  for (const k in fields) if (a.fields[k] !== fields[k]) return false;
  return true;
}

export class StateCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 10_000) {}

  /** The decoded state of `fields` (a profile hash without `_rev`) for profile `id`. Never throws. */
  decode(id: string, fields: Readonly<Record<string, string>>): ProfileState {
    if (this.maxEntries <= 0) return decodeProfile(fields, id);
    const size = sizeOf(fields);
    const cached = this.entries.get(id);
    if (cached !== undefined && same(cached, fields, size)) {
      this.hits++;
      return cached.state;
    }
    this.misses++;
    const state = decodeProfile(fields, id);
    if (size === 0) return state; // unknown profiles: nothing worth keeping
    if (cached !== undefined) this.entries.delete(id);
    this.entries.set(id, { fields, size, state });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return state;
  }

  get size(): number {
    return this.entries.size;
  }
}
