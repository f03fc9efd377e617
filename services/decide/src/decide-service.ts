/**
 * Decisions: the flags asked for, for each target, from the in-memory plan and one Redis read (of
 * only the write id when the profile is unchanged since an earlier request decoded it).
 * When the read fails or times out, every flag answers its default with reason ERROR (never throws
 * for Redis trouble: decide degrades, it does not fail).
 */
import type { Logger } from 'pino';
import { AppError, type Clock, type JsonObject } from '@tinycdp/common';
import {
  decodeProfile,
  evaluateFlag,
  profileView,
  type Decision,
  type FlagDefinition,
} from '@tinycdp/engine';
import type { FlagCache, FlagSnapshot } from './flag-cache';
import type { DecideMetrics } from './metrics';
import type { ProfileSource, ResolvedProfile } from './profile-reader';
import type { DecideQuery, Target } from './request';
import { StateCache, type DecodedState, type HeldState } from './state-cache';

export interface TargetDecisions {
  readonly target: Target;
  /** The user decided for (given, or linked to the anonymous id); null for an unlinked anonymous id. */
  readonly userId: string | null;
  readonly anonymousId: string | null;
  /** One per flag asked for, in the order asked (or flag key order for "every flag"). */
  readonly decisions: readonly Decision[];
}

export interface DecideResult {
  readonly snapshot: FlagSnapshot;
  readonly results: readonly TargetDecisions[];
  /** Set when the profile read failed and defaults were answered. */
  readonly degraded: AppError | null;
}

/** The answer when a flag cannot be evaluated: its default, reason ERROR. */
export function errorDecision(def: FlagDefinition): Decision {
  return {
    flag: def.key,
    value: def.default,
    enabled: def.valueType === 'boolean' ? def.default === true : false,
    reason: 'ERROR',
    ruleIndex: null,
    version: def.version,
  };
}

/**
 * The flag definitions to decide, in order; `null` = every flag (sorted by key).
 * @throws AppError 'not_found' (details `{errorCode: 'FLAG_NOT_FOUND', flags}`) naming unknown flags.
 */
export function selectFlags(snapshot: FlagSnapshot, keys: readonly string[] | null): FlagDefinition[] {
  if (keys === null) return snapshot.flagKeys.map((k) => snapshot.flags.get(k)!);
  const out: FlagDefinition[] = [];
  const missing: string[] = [];
  for (const k of keys) {
    const d = snapshot.flags.get(k);
    if (d === undefined) missing.push(k);
    else out.push(d);
  }
  if (missing.length > 0) {
    const what = missing.length === 1 ? `flag "${missing[0]}" does not exist` : `flags ${missing.map((m) => `"${m}"`).join(', ')} do not exist`;
    throw new AppError('not_found', what, { details: { errorCode: 'FLAG_NOT_FOUND', flags: missing } });
  }
  return out;
}

/**
 * Decides `flags` for one resolved profile at `now`, on its decoded state (by default decoded here).
 * Flags excluded from the plan (their rules did not compile against the current definitions) answer
 * default/ERROR. Pure; never throws.
 */
export function decideFor(
  snapshot: FlagSnapshot,
  flags: readonly FlagDefinition[],
  profile: ResolvedProfile,
  context: JsonObject,
  now: number,
  decoded: DecodedState = { state: decodeProfile(profile.fields ?? {}, profile.profileId) },
): Decision[] {
  const { state, memo } = decoded;
  const view = profileView(state, snapshot.plan, now, context, memo);
  // Rollouts bucket on the user when known, so an anonymous visitor keeps its bucket after login.
  const userKey = profile.userId ?? profile.profileId;
  const out: Decision[] = new Array(flags.length);
  for (let i = 0; i < flags.length; i++) {
    const def = flags[i]!;
    const compiled = snapshot.plan.flagsByKey.get(def.key);
    out[i] = compiled === undefined ? errorDecision(def) : evaluateFlag(compiled, view, userKey);
  }
  return out;
}

export interface DecideServiceDeps {
  readonly flags: FlagCache;
  readonly reader: ProfileSource;
  readonly clock: Clock;
  readonly metrics: DecideMetrics;
  readonly logger: Logger;
  /** Decoded states reused while a profile is unchanged (default: 10 000 profiles; 0 disables). */
  readonly states?: StateCache;
}

export class DecideService {
  private lastWarnAt = 0;
  private readonly states: StateCache;

  constructor(private readonly deps: DecideServiceDeps) {
    this.states = deps.states ?? new StateCache();
  }

  /** The current definitions. @throws AppError 'unavailable' before they were ever loaded. */
  snapshot(): FlagSnapshot {
    const s = this.deps.flags.snapshot;
    if (s === null) {
      throw new AppError('unavailable', 'flag definitions are not loaded yet (is Redis reachable?)', {
        retriable: true,
        details: { retryAfterSeconds: 1 },
      });
    }
    return s;
  }

  /**
   * Decides `query` with one Redis round trip.
   * @throws AppError 'unavailable' (no definitions yet), 'not_found' (unknown flag). Never for Redis
   *   read failures: those answer defaults with reason ERROR and set `degraded`.
   */
  async decide(query: DecideQuery): Promise<DecideResult> {
    const snapshot = this.snapshot();
    const flags = selectFlags(snapshot, query.flags);
    let profiles: ResolvedProfile[] | null = null;
    let degraded: AppError | null = null;
    // States kept from earlier requests: Redis sends a held profile's fields only if it changed since.
    const held = query.targets.map((t) => (t.kind === 'user' ? this.states.held(t.userId) : undefined));
    if (snapshot.stateLost) {
      // Redis lost its data: an empty profile would look like a new user and get a confident DEFAULT.
      degraded = new AppError('unavailable', 'profile state was lost (Redis restarted empty); rebuild it with `tinycdp rebuild`', {
        retriable: true,
      });
      this.deps.metrics.error('redis');
      this.warn(degraded);
    } else {
      try {
        profiles = await this.deps.reader.read(query.targets, held.map((h) => h?.writeId));
      } catch (err) {
        degraded = err as AppError;
        this.deps.metrics.error('redis');
        this.warn(degraded);
      }
    }
    const now = this.deps.clock.now();
    const results: TargetDecisions[] = query.targets.map((target, i) => {
      const profile = profiles?.[i];
      const decisions =
        profile === undefined
          ? flags.map(errorDecision)
          : decideFor(snapshot, flags, profile, query.context, now, this.decoded(profile, held[i]));
      for (const d of decisions) this.deps.metrics.decision(d.reason);
      return {
        target,
        userId: profile ? profile.userId : target.kind === 'user' ? target.userId : null,
        anonymousId: target.kind === 'anonymous' ? target.anonymousId : null,
        decisions,
      };
    });
    return { snapshot, results, degraded };
  }

  /** The decoded state of a profile read: the held one when Redis said it is unchanged. */
  private decoded(profile: ResolvedProfile, held: HeldState | undefined): DecodedState {
    if (profile.fields !== null) return this.states.decode(profile.profileId, profile.fields);
    if (held === undefined) throw new AppError('internal', `profile source answered "unchanged" for ${profile.profileId} without a held state`);
    return this.states.reuse(held);
  }

  /** At most one warning per second: an outage must not turn into a log flood. */
  private warn(err: AppError): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 1_000) return;
    this.lastWarnAt = now;
    this.deps.logger.warn({ err: err.message, code: err.code }, 'decide_profile_read_failed');
  }
}
