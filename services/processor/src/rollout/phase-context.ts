import type { Plan } from '@tinycdp/engine';
import type { RunRecord } from './rollout-records';

/** What a rollout phase gets from the coordinator. */
export interface PhaseContext {
  /** The run's target plan (a snapshot: the live plan may move on, which stops the run). */
  readonly plan: Plan;
  /** Mutable; persisted by `checkpoint()`. */
  readonly run: RunRecord;
  now(): number;
  /** Persists `run`. Throws RolloutInterrupted when this instance lost the lease. */
  checkpoint(): Promise<void>;
  /** True when the phase must return at the next batch boundary (stop, lease lost, newer plan). */
  stopped(): boolean;
}

/** Thrown when the run cannot go on here (lease lost); the next lease holder resumes it. */
export class RolloutInterrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RolloutInterrupted';
  }
}
