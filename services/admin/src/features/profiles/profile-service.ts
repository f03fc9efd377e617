import { AppError, type Clock, type Json } from '@tinycdp/common';
import { buildPlan, profileView } from '@tinycdp/engine';
import { toDefinition } from '../definitions/definition-service';
import type { CatalogReader } from '../expressions/catalog-reader.port';
import type { ProfileReader } from './profile-reader.port';

export interface ProfileSummary {
  readonly profileId: string;
  readonly userId: string | null;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly anonymousIds: readonly string[];
  /** Identify traits kept on the profile (those definitions read). */
  readonly properties: Record<string, Json>;
  /** Every trait evaluated now under the current definitions. */
  readonly traits: Record<string, Json>;
  /** Segment membership now, and when each current membership began. */
  readonly segments: Record<string, { member: boolean; since: string | null }>;
  readonly at: string;
}

const isoOrNull = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/** Read-only view of one profile, evaluated at the current instant. */
export class ProfileService {
  constructor(
    private readonly catalog: CatalogReader,
    private readonly clock: Clock,
    private readonly profiles?: ProfileReader,
  ) {}

  /** Throws not_found, or unavailable when this instance has no profile reader. */
  async get(profileId: string): Promise<ProfileSummary> {
    if (!this.profiles) throw new AppError('unavailable', 'profile lookup is not configured in this admin instance');
    const state = await this.profiles.get(profileId);
    if (!state) throw new AppError('not_found', `profile "${profileId}" not found`, { details: { profileId } });
    const live = await this.catalog.listLive();
    const { plan } = buildPlan(live.map((s) => toDefinition(s.body, s.version)));
    const now = this.clock.now();
    const view = profileView(state, plan, now);
    const segments: Record<string, { member: boolean; since: string | null }> = {};
    for (const [key, member] of Object.entries(view.segments())) {
      segments[key] = { member, since: member ? isoOrNull(state.segments[key] ?? null) : null };
    }
    return {
      profileId: state.id,
      userId: state.userId,
      firstSeen: isoOrNull(state.firstSeen),
      lastSeen: isoOrNull(state.lastSeen),
      anonymousIds: Object.keys(state.anonymousIds),
      properties: Object.fromEntries(Object.entries(state.properties).map(([k, v]) => [k, v.value])),
      traits: view.traits(),
      segments,
      at: new Date(now).toISOString(),
    };
  }
}
