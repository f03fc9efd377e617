/**
 * Every Redis key TinyCDP uses is built here, nowhere else. Keys of one profile share the hash tag
 * `{p:<id>}` so they live in one Redis Cluster slot and a Lua script may touch them together.
 * Ids are validated upstream (libs/events); they are still encoded here so a crafted id can never
 * produce another profile's key (no `}` or `:` injection): anything outside [A-Za-z0-9_.@-] is
 * percent-encoded.
 */
export function encodeKeyPart(id: string): string {
  return id.replace(/[^A-Za-z0-9_.@-]/g, (c) => {
    const hex = Buffer.from(c, 'utf8').toString('hex').toUpperCase();
    return hex.replace(/(..)/g, '%$1');
  });
}

export interface RedisKeys {
  readonly prefix: string;
  /** Hash: the profile's state fields (engine codec) plus `_rev` (revision) and `_w` (write id). */
  profile(id: string): string;
  /** List: segment changes written with the state but not yet published (JSON each). */
  outbox(id: string): string;
  /** Sorted set: message ids applied to this profile in the last 24 h (score = applied at ms). */
  messageIds(id: string): string;
  /** String: anonymousId → userId link. */
  link(anonymousId: string): string;
  /** Sorted set per partition: profile id → instant (ms) its segments must be re-evaluated. */
  schedule(partition: number): string;
  /** Hash: materialized definitions, field `<kind>:<key>` → JSON. */
  definitions(): string;
  /** Pub/sub channel announcing a definitions change. */
  definitionsChannel(): string;
  /** Set of profile ids ever written (for rebuild, admin listing and backfill scans). */
  profileIndex(): string;
  /** String: the rollout coordinator lease (owner id, with a PX expiry). */
  rolloutLease(): string;
  /** Hash: rollout checkpoint (`base`: last completed plan, `run`: the rollout in progress; JSON each). */
  rolloutState(): string;
  /** Hash per aggregate series: partition → fence offset (live applies the series from it, backfill below it). */
  rolloutFences(seriesId: string): string;
  /** Hash: rollout status per definition, field `<kind>:<key>` → JSON `{status, version, processed, total, …}`. */
  definitionStatus(): string;
  /** Sorted set (every score 0, so members page in lexicographic order): profile ids in a segment. */
  segmentMembers(segmentKey: string): string;
  /**
   * String: the state epoch marker (an id set once when the state is created or rebuilt). Its absence
   * while the processor has committed offsets means Redis lost the state (restarted empty, flushed).
   */
  epoch(): string;
}

export function redisKeys(prefix = 'tinycdp:'): RedisKeys {
  const p = (id: string) => `${prefix}{p:${encodeKeyPart(id)}}`;
  return Object.freeze({
    prefix,
    profile: (id: string) => `${p(id)}:s`,
    outbox: (id: string) => `${p(id)}:o`,
    messageIds: (id: string) => `${p(id)}:m`,
    link: (anonymousId: string) => `${prefix}{a:${encodeKeyPart(anonymousId)}}:l`,
    schedule: (partition: number) => `${prefix}{sched:${partition}}`,
    definitions: () => `${prefix}{defs}`,
    definitionsChannel: () => `${prefix}defs:changed`,
    profileIndex: () => `${prefix}{index}:profiles`,
    rolloutLease: () => `${prefix}{rollout}:lease`,
    rolloutState: () => `${prefix}{rollout}:state`,
    rolloutFences: (seriesId: string) => `${prefix}{rollout}:fence:${encodeKeyPart(seriesId)}`,
    definitionStatus: () => `${prefix}{defs}:status`,
    segmentMembers: (segmentKey: string) => `${prefix}{seg:${encodeKeyPart(segmentKey)}}:members`,
    epoch: () => `${prefix}epoch`,
  });
}
