import type { DefinitionCache } from './ports';

export type DefinitionChangeListener = (field: string) => void;

function storedVersion(json: string): number | null {
  let decoded: unknown;
  try {
    decoded = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof decoded !== 'object' || decoded === null) return null;
  const v = (decoded as { version?: unknown }).version;
  return v === undefined || v === null ? 0 : Number(v);
}

/**
 * Definitions materialized in memory for decide in embedded mode, with the semantics of
 * RedisDefinitionCache + put-definition.lua: a write lands only if its version is newer than the
 * `version` inside the stored JSON; a deletion is kept as the tombstone `{"deleted":true,"version":v}`
 * so a late older write cannot resurrect it; every landed write is announced to the listeners
 * (the Redis pub/sub notice on the definitions channel, carrying the field).
 */
export class MemoryDefinitionCache implements DefinitionCache {
  private readonly values = new Map<string, string>();
  private readonly listeners = new Set<DefinitionChangeListener>();

  async put(field: string, version: number, json: string | null): Promise<boolean> {
    const cur = this.values.get(field);
    if (cur !== undefined) {
      const v = storedVersion(cur);
      if (v !== null && v >= version) return false;
    }
    this.values.set(field, json === null || json === '' ? JSON.stringify({ deleted: true, version }) : json);
    for (const l of this.listeners) {
      try {
        l(field);
      } catch {
        // A listener's fault must not fail the write (Redis PUBLISH does not wait for subscribers either).
      }
    }
    return true;
  }

  async all(): Promise<Record<string, string>> {
    return Object.fromEntries(this.values);
  }

  /** Calls `listener(field)` after every landed write; returns the unsubscribe function. */
  onChange(listener: DefinitionChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
