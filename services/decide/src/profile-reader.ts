/**
 * Reads the profile state hashes decide evaluates against: ONE Redis round trip per request (a single
 * HGETALL, or read-if-changed.lua when decide holds the profile decoded already; an EVALSHA of
 * resolve-profile.lua for an anonymous id; one pipeline for several targets), bounded by a deadline.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { AppError } from '@tinycdp/common';
import { coalesceWrites, type RedisKeys } from '@tinycdp/redis';
import type { Target } from './request';

export interface ResolvedProfile {
  readonly target: Target;
  /** Id of the profile whose state is used (the userId, or the anonymous id when no user profile exists). */
  readonly profileId: string;
  /** The user: given, or linked to the anonymous id; null for an unlinked anonymous visitor. */
  readonly userId: string | null;
  readonly anonymousId: string | null;
  /** Hash fields of the profile state (engine codec; may include `_rev` and `_w`, which the codec
   *  ignores); empty for unknown profiles; null when the read was given the profile's current write id
   *  (unchanged: the caller uses the state it holds). */
  readonly fields: Record<string, string> | null;
}

const RESOLVE_SCRIPT = readFileSync(new URL('./lua/resolve-profile.lua', import.meta.url), 'utf8');
const IF_CHANGED_SCRIPT = readFileSync(new URL('./lua/read-if-changed.lua', import.meta.url), 'utf8');
const SAFE_ID = /^[A-Za-z0-9_.@-]+$/;

type ScriptReply = [string, string[], string[]];
type ScriptClient = Redis & {
  decideResolveProfile(link: string, anonKey: string, pre: string, suf: string): Promise<ScriptReply>;
  /** 1 = unchanged, else the flat HGETALL array. */
  decideReadIfChanged(key: string, writeId: string): Promise<1 | string[]>;
};

function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

function unavailable(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if ((err as Error)?.message === 'Command timed out') {
    return new AppError('timeout', `redis read exceeded its command timeout`, { retriable: true, cause: err });
  }
  return new AppError('unavailable', `redis read failed: ${(err as Error)?.message ?? String(err)}`, {
    retriable: true,
    cause: err,
  });
}

/** Port: reads the profile states of decide's targets (Redis in production, memory when embedded). */
export interface ProfileSource {
  /**
   * @param held per target, the write id (`_w`) of a state the caller holds decoded for it: when that
   *   is still the profile's current write, the source may answer `fields: null` (unchanged).
   * @throws AppError 'unavailable' or 'timeout' when the state cannot be read in time.
   */
  read(targets: readonly Target[], held?: readonly (string | undefined)[]): Promise<ResolvedProfile[]>;
}

export class ProfileReader implements ProfileSource {
  private readonly redis: ScriptClient;
  private readonly pre: string;
  private readonly suf: string;
  /** The connection fails each command itself within the deadline (ioredis `commandTimeout`). */
  private readonly commandBounded: boolean;

  /**
   * @param timeoutMs deadline of one read: past it the read rejects with AppError 'timeout' even if
   *   the connection has no command timeout of its own. When the connection's `commandTimeout` is
   *   within `timeoutMs` (decideRedisOptions), the common read (one userId: a single HGETALL) relies on
   *   it instead of arming a timer of its own per request (a timer and a Promise.race per request
   *   were measurable on the hot path).
   */
  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
    private readonly timeoutMs: number,
  ) {
    if (typeof (redis as unknown as Partial<ScriptClient>).decideResolveProfile !== 'function') {
      redis.defineCommand('decideResolveProfile', { numberOfKeys: 2, lua: RESOLVE_SCRIPT });
      redis.defineCommand('decideReadIfChanged', { numberOfKeys: 1, lua: IF_CHANGED_SCRIPT });
    }
    this.redis = redis as ScriptClient;
    const commandTimeout = redis.options?.commandTimeout;
    this.commandBounded = typeof commandTimeout === 'number' && commandTimeout > 0 && commandTimeout <= timeoutMs;
    // The profile key around the id, derived from keys.ts (the script builds the linked user's key).
    const marker = 'Z0decideZ0';
    const sample = keys.profile(marker);
    const at = sample.indexOf(marker);
    this.pre = sample.slice(0, at);
    this.suf = sample.slice(at + marker.length);
  }

  /**
   * Reads the profiles of `targets` (in order) in one round trip.
   * @throws AppError 'unavailable' when Redis fails, 'timeout' past the deadline.
   */
  read(targets: readonly Target[], held?: readonly (string | undefined)[]): Promise<ResolvedProfile[]> {
    coalesceWrites(this.redis);
    const only = targets.length === 1 ? targets[0]! : null;
    if (this.commandBounded && only !== null && only.kind === 'user') {
      return this.readUser(only, held?.[0]).then(
        (p) => [p],
        (err: unknown) => {
          throw unavailable(err);
        },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new AppError('timeout', `redis read exceeded ${this.timeoutMs} ms`, { retriable: true })),
        this.timeoutMs,
      );
    });
    return Promise.race([this.readUnbounded(targets, held), deadline])
      .catch((err: unknown) => {
        throw unavailable(err);
      })
      .finally(() => clearTimeout(timer));
  }

  /** One user's profile: only its write id when `writeId` is still current (fields null). */
  private readUser(t: Target & { kind: 'user' }, writeId: string | undefined): Promise<ResolvedProfile> {
    const key = this.keys.profile(t.userId);
    const resolved = (fields: Record<string, string> | null): ResolvedProfile => ({ target: t, profileId: t.userId, userId: t.userId, anonymousId: null, fields });
    if (writeId === undefined) return this.redis.hgetall(key).then(resolved);
    return this.redis.decideReadIfChanged(key, writeId).then((r) => resolved(r === 1 ? null : pairs(r)));
  }

  private async readUnbounded(targets: readonly Target[], held: readonly (string | undefined)[] | undefined): Promise<ResolvedProfile[]> {
    if (targets.length === 1) {
      const t = targets[0]!;
      if (t.kind === 'user') return [await this.readUser(t, held?.[0])];
      const reply = await this.redis.decideResolveProfile(
        this.keys.link(t.anonymousId),
        this.keys.profile(t.anonymousId),
        this.pre,
        this.suf,
      );
      return [await this.anonymous(t, reply)];
    }
    const pipe = this.redis.pipeline();
    for (const t of targets) {
      if (t.kind === 'user') pipe.hgetall(this.keys.profile(t.userId));
      else {
        (pipe as unknown as ScriptClient).decideResolveProfile(
          this.keys.link(t.anonymousId),
          this.keys.profile(t.anonymousId),
          this.pre,
          this.suf,
        );
      }
    }
    const results = await pipe.exec();
    if (results === null) throw new Error('pipeline aborted');
    return Promise.all(
      targets.map(async (t, i) => {
        const [err, value] = results[i]!;
        if (err) throw err;
        if (t.kind === 'user') {
          return { target: t, profileId: t.userId, userId: t.userId, anonymousId: null, fields: value as Record<string, string> };
        }
        return this.anonymous(t, value as ScriptReply);
      }),
    );
  }

  /** Picks the linked user's profile when it exists, else the anonymous profile. */
  private async anonymous(t: Target & { kind: 'anonymous' }, reply: ScriptReply): Promise<ResolvedProfile> {
    const [linked, userFlat, anonFlat] = reply;
    const userId = linked === '' ? null : linked;
    let userFields = pairs(userFlat);
    if (userId !== null && !SAFE_ID.test(userId)) {
      // The script cannot build keys that need encoding: a second read (rare; inside the same deadline).
      userFields = await this.redis.hgetall(this.keys.profile(userId));
    }
    if (userId !== null && Object.keys(userFields).length > 0) {
      return { target: t, profileId: userId, userId, anonymousId: t.anonymousId, fields: userFields };
    }
    return { target: t, profileId: t.anonymousId, userId, anonymousId: t.anonymousId, fields: pairs(anonFlat) };
  }
}
