import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import eventsSchema from '../../../../schemas/events.value.schema.json' with { type: 'json' };
import segmentChangesSchema from '../../../../schemas/segment-changes.value.schema.json' with { type: 'json' };
import definitionsSchema from '../../../../schemas/definitions.value.schema.json' with { type: 'json' };

/** A JSON Schema node, loosely typed: we only read the keywords we describe in error messages. */
export interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly $ref?: string;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly format?: string;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly allOf?: readonly { readonly if?: SchemaNode; readonly then?: SchemaNode }[];
  readonly $defs?: Readonly<Record<string, SchemaNode>>;
}

// Compiled once at module load. The schemas in schemas/ are the documented contract; this module is the
// only place that reads them, so what the docs say and what the code enforces cannot drift apart.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv, ['date-time']);

export const eventsSchemaNode = eventsSchema as unknown as SchemaNode;
export const validateEventSchema: ValidateFunction = ajv.compile(eventsSchema);
export const validateSegmentChangeSchema: ValidateFunction = ajv.compile(segmentChangesSchema);
export const validateDefinitionSchema: ValidateFunction = ajv.compile(definitionsSchema);

export type { ErrorObject };

/** Follows a local `#/$defs/x` reference in the events schema. */
export function resolve(node: SchemaNode): SchemaNode {
  if (node.$ref?.startsWith('#/$defs/')) {
    const target = eventsSchemaNode.$defs?.[node.$ref.slice('#/$defs/'.length)];
    if (target) return { ...target, ...node, $ref: undefined };
  }
  return node;
}
