import { updateProfiles, type ProfileWork, type UpdateDeps, type UpdateStats } from './update-profiles';

/** What subscribers were last told about one profile, read back from the segment-changes log. */
export interface PublishedProfile {
  sequence: number;
  segments: Record<string, number>;
}

/**
 * Folds a segment-changes log (in order) into the last published membership per profile.
 * Records that are not valid change JSON are ignored.
 */
export function foldPublished(values: Iterable<string>): Map<string, PublishedProfile> {
  const out = new Map<string, PublishedProfile>();
  for (const v of values) {
    let c: { profileId?: unknown; segment?: unknown; status?: unknown; at?: unknown; sequence?: unknown };
    try {
      c = JSON.parse(v);
    } catch {
      continue;
    }
    if (typeof c.profileId !== 'string' || typeof c.segment !== 'string' || typeof c.sequence !== 'number') continue;
    let p = out.get(c.profileId);
    if (!p) out.set(c.profileId, (p = { sequence: 0, segments: {} }));
    if (c.sequence < p.sequence) continue; // a late duplicate
    p.sequence = c.sequence;
    if (c.status === 'entered') p.segments[c.segment] = Date.parse(String(c.at)) || 0;
    else delete p.segments[c.segment];
  }
  return out;
}

/**
 * After state was rebuilt from the event log (embedded mode keeps state in memory), make the published
 * stream consistent with it: each profile starts from what subscribers were told (memberships and
 * sequence), is evaluated now, and only the differences are published — e.g. exits that came due while
 * the process was down — with sequences continuing after the last published one.
 */
export async function reconcileWithPublished(
  deps: UpdateDeps,
  published: ReadonlyMap<string, PublishedProfile>,
  profileIds: Iterable<string>,
  now: number,
  batchSize = 500,
): Promise<UpdateStats> {
  const ids = new Set([...profileIds, ...published.keys()]);
  const total: UpdateStats = { applied: 0, duplicates: 0, changes: 0, conflicts: 0 };
  let work = new Map<string, ProfileWork>();
  const flush = async () => {
    if (work.size === 0) return;
    const s = await updateProfiles(deps, work, now, 'time');
    total.changes += s.changes;
    total.conflicts += s.conflicts;
    work = new Map();
  };
  for (const id of ids) {
    const p = published.get(id) ?? { sequence: 0, segments: {} };
    work.set(id, { events: [], merges: new Set(), published: p });
    if (work.size >= batchSize) await flush();
  }
  await flush();
  return total;
}
