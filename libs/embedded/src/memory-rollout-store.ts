import { systemClock, type Clock } from '@tinycdp/common';
import type { FenceClaim, RolloutStore } from './rollout-ports';

/**
 * RolloutStore in memory for the embedded mode (one process, so the lease is always won unless another
 * owner in the same process holds it). Same semantics as RedisRolloutStore and its Lua scripts: the
 * lease expires `ttlMs` after the last acquire (by `clock`), checkpoint writes need the lease, fences
 * are set-once per (series, partition). Never throws.
 */
export class MemoryRolloutStore implements RolloutStore {
  private lease: { owner: string; expiresAt: number } | null = null;
  private readonly checkpoint = new Map<string, string>();
  private readonly fences = new Map<string, Map<number, number>>();
  private readonly status = new Map<string, string>();

  constructor(private readonly clock: Clock = systemClock) {}

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    if (this.lease && this.lease.expiresAt > now && this.lease.owner !== owner) return false;
    this.lease = { owner, expiresAt: now + ttlMs };
    return true;
  }

  async releaseLease(owner: string): Promise<void> {
    if (this.holds(owner)) this.lease = null;
  }

  async loadCheckpoint(): Promise<Record<string, string>> {
    return Object.fromEntries(this.checkpoint);
  }

  async saveCheckpoint(owner: string, set: Readonly<Record<string, string>>, del: readonly string[] = []): Promise<boolean> {
    if (!this.holds(owner)) return false;
    for (const [k, v] of Object.entries(set)) this.checkpoint.set(k, v);
    for (const k of del) this.checkpoint.delete(k);
    return true;
  }

  async claimFences(claims: readonly FenceClaim[]): Promise<number[]> {
    return claims.map((c) => {
      let f = this.fences.get(c.series);
      if (!f) this.fences.set(c.series, (f = new Map()));
      if (!f.has(c.partition)) f.set(c.partition, c.offset);
      return f.get(c.partition)!;
    });
  }

  async clearFences(series: readonly string[]): Promise<void> {
    for (const s of series) this.fences.delete(s);
  }

  async writeStatus(set: Readonly<Record<string, string>>, del: readonly string[] = []): Promise<void> {
    for (const [k, v] of Object.entries(set)) this.status.set(k, v);
    for (const k of del) this.status.delete(k);
  }

  async readStatus(fields: readonly string[]): Promise<(string | null)[]> {
    return fields.map((f) => this.status.get(f) ?? null);
  }

  private holds(owner: string): boolean {
    return this.lease !== null && this.lease.owner === owner && this.lease.expiresAt > this.clock.now();
  }
}
