import type { Logger } from 'pino';
import { buildPlan, type Definition, type Plan } from '@tinycdp/engine';

export interface DefinitionMaterializer {
  /** Writes one definition (JSON, or null when deleted) if newer; announces the change. */
  put(field: string, version: number, json: string | null): Promise<boolean>;
}

/**
 * Holds the live definitions and the compiled plan built from them. Fed by the definitions topic
 * (key `<kind>:<key>`, value JSON or null); mirrors every record into the materialized copy decide reads.
 */
export class PlanHolder {
  private readonly defs = new Map<string, Definition>();
  private current: Plan;
  private listeners: ((plan: Plan) => void)[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly materializer?: DefinitionMaterializer,
  ) {
    this.current = buildPlan([]).plan;
  }

  plan(): Plan {
    return this.current;
  }

  definitions(): Definition[] {
    return [...this.defs.values()];
  }

  onChange(fn: (plan: Plan) => void): void {
    this.listeners.push(fn);
  }

  /** Applies definition records in log order; rebuilds the plan once per call. */
  async apply(records: readonly { key: string; value: string | null }[]): Promise<void> {
    let changed = false;
    for (const r of records) {
      if (r.value === null) {
        const old = this.defs.get(r.key);
        changed = this.defs.delete(r.key) || changed;
        if (this.materializer) await this.materializer.put(r.key, (old?.version ?? 0) + 1, null);
        continue;
      }
      let def: Definition;
      try {
        def = JSON.parse(r.value) as Definition;
      } catch (err) {
        this.logger.error({ key: r.key, err }, 'definition_unreadable');
        continue;
      }
      if ((def as { deleted?: boolean }).deleted) {
        changed = this.defs.delete(r.key) || changed;
        if (this.materializer) await this.materializer.put(r.key, def.version, null);
        continue;
      }
      const old = this.defs.get(r.key);
      if (old && old.version > def.version) continue;
      this.defs.set(r.key, def);
      changed = true;
      if (this.materializer) await this.materializer.put(r.key, def.version, r.value);
    }
    if (!changed) return;
    const { plan, problems } = buildPlan([...this.defs.values()]);
    for (const p of problems) this.logger.warn({ kind: p.kind, key: p.key, diagnostics: p.diagnostics }, 'definition_rejected');
    this.current = plan;
    for (const l of this.listeners) l(plan);
  }
}
