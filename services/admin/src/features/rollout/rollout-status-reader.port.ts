/** What processors last reported about rolling one definition out to existing profiles. */
export interface ReportedRollout {
  readonly status: 'live' | 'backfilling';
  /** The definition version the report is about. */
  readonly version: number;
  /** Everything else the processor reported (planId, phase, processed, total, events…). */
  readonly progress: Record<string, unknown>;
}

/**
 * Port: rollout status per definition, as the processors report it (Redis hash `{defs}:status`;
 * RedisRolloutStatusReader). Admin has no say in it; it only shows it.
 */
export interface RolloutStatusReader {
  /** One entry per `<kind>:<key>` field, null where nothing was reported. May throw AppError('unavailable'). */
  read(fields: readonly string[]): Promise<(ReportedRollout | null)[]>;
}
