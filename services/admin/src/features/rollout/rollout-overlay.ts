import type { DefinitionStatus } from '../definitions/definition-store.port';
import type { ReportedRollout } from './rollout-status-reader.port';

/**
 * The status a definition shows given what the processors reported: their report when it is about
 * this version (or a newer one), else "backfilling / pending" — the processors have not picked the
 * change up yet.
 */
export function rolloutView(version: number, reported: ReportedRollout | null): { status: DefinitionStatus; progress: unknown } {
  if (reported === null || reported.version < version) {
    return { status: 'backfilling', progress: { phase: 'pending', reportedVersion: reported?.version ?? null } };
  }
  return { status: reported.status, progress: reported.progress };
}
