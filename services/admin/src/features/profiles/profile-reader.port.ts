import type { ProfileState } from '@tinycdp/engine';

/** Port: reads a profile's current state (Redis in production, in-memory state in embedded mode). */
export interface ProfileReader {
  /** Null when the profile does not exist. May throw AppError('unavailable'). */
  get(profileId: string): Promise<ProfileState | null>;
}
