import type { EventType } from '@tinycdp/events';
import { eventNameOf } from './apply';
import type { Plan } from './plan';

/** Per plan: event names whose series read more than the event's identity and time. */
interface BodyReads {
  /** An any-event series reads properties or filters: every event's body counts. */
  readonly all: boolean;
  readonly names: ReadonlySet<string>;
}
const reads = new WeakMap<Plan, BodyReads>();

function bodyReads(plan: Plan): BodyReads {
  let r = reads.get(plan);
  if (!r) {
    const names = new Set<string>();
    let all = false;
    for (const s of plan.series) {
      if (s.filter === null && s.props.length === 0) continue;
      if (s.event === null) all = true;
      else names.add(s.event);
    }
    reads.set(plan, (r = { all, names }));
  }
  return r;
}

/**
 * Whether `applyEvents` under `plan` reads anything of an event beyond its type, ids, name and time:
 * properties or fields read by a series (`sum(properties.amount)`, `where(...)`), or the traits of an
 * identify. When it does not, the event's digest (`@tinycdp/events` digestEvent: no properties, traits or
 * context) gives the same state as the whole event — so the processor need not parse the value.
 * Only track, page and screen events can go without their body (identify, alias and group: always).
 */
export function needsEventBody(plan: Plan, type: EventType, event: string | null): boolean {
  if (type !== 'track' && type !== 'page' && type !== 'screen') return true;
  const r = bodyReads(plan);
  if (r.all) return true;
  const name = eventNameOf({ type, event });
  return name !== null && r.names.has(name);
}
