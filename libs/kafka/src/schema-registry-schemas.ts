// The topic value schemas TinyCDP registers (the documented contracts in schemas/, verbatim).
import eventsSchema from '../../../schemas/events.value.schema.json' with { type: 'json' };
import segmentChangesSchema from '../../../schemas/segment-changes.value.schema.json' with { type: 'json' };
import definitionsSchema from '../../../schemas/definitions.value.schema.json' with { type: 'json' };
import type { TopicNames } from './topics';

export type SchemaTopic = 'events' | 'segmentChanges' | 'definitions';

/** Topic → its JSON Schema document, as registered under `<topic>-value` (type JSON). */
export function topicValueSchemas(topics: TopicNames): { readonly role: SchemaTopic; readonly topic: string; readonly schema: object }[] {
  return [
    { role: 'events', topic: topics.events, schema: eventsSchema },
    { role: 'segmentChanges', topic: topics.segmentChanges, schema: segmentChangesSchema },
    { role: 'definitions', topic: topics.definitions, schema: definitionsSchema },
  ];
}
