import type { FieldError } from '../types';
import { eventsSchemaNode, resolve, type ErrorObject, type SchemaNode } from './schemas';

/** Joins a base path and a property name: "batch[3]" + "userId" → "batch[3].userId". */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const safe = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
  if (safe !== key) return `${base}[${safe}]`;
  return base === '' ? key : `${base}.${key}`;
}

/** "a string of at most 256 characters", "an object", "one of a, b" — read from the schema itself. */
export function describeSchema(node: SchemaNode): string {
  const n = resolve(node);
  if (n.enum) return `one of ${n.enum.map(String).join(', ')}`;
  if (n.format === 'date-time') return 'an ISO-8601 date-time with a timezone (e.g. 2024-05-01T12:00:00.000Z)';
  const types = (Array.isArray(n.type) ? n.type : n.type === undefined ? [] : [n.type]).filter((t) => t !== 'null');
  if (types.length === 1 && types[0] === 'string') {
    return n.maxLength === undefined ? 'a string' : `a string of at most ${n.maxLength} characters`;
  }
  if (types.length === 1 && types[0] === 'object') return 'an object';
  return types.length > 0 ? `of type ${types.join(' or ')}` : 'valid';
}

const ALLOF_THEN = /^#\/allOf\/(\d+)\/then\//;

/** Turns ajv's errors for the events schema into field-named, plain-language errors. */
export function describeAjvErrors(errors: readonly ErrorObject[], base: string): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const push = (path: string, message: string): void => {
    const k = `${path}\u0000${message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ path, message });
    }
  };
  const fieldOf = (e: ErrorObject): string | undefined => {
    const seg = e.instancePath.split('/')[1];
    return seg === undefined ? undefined : seg.replace(/~1/g, '/').replace(/~0/g, '~');
  };
  let identityMissing = false;

  for (const e of errors) {
    if (e.keyword === 'if') continue; // its "then" errors say it better
    if (e.schemaPath.startsWith('#/anyOf/')) continue; // summarized by the anyOf error
    if (e.keyword === 'anyOf' && e.instancePath === '') {
      identityMissing = true;
      continue;
    }
    const then = ALLOF_THEN.exec(e.schemaPath);
    if (then) {
      const cond = eventsSchemaNode.allOf?.[Number(then[1])]?.if?.properties?.['type']?.const;
      const field = e.keyword === 'required' ? String(e.params['missingProperty']) : fieldOf(e);
      if (field !== undefined) push(joinPath(base, field), `is required for ${String(cond)} messages`);
      continue;
    }
    if (e.keyword === 'required') {
      const field = String(e.params['missingProperty']);
      const prop = eventsSchemaNode.properties?.[field];
      push(joinPath(base, field), prop ? `is required and must be ${describeSchema(prop)}` : 'is required');
      continue;
    }
    if (e.instancePath === '' && e.keyword === 'type') {
      push(base, 'must be a JSON object');
      continue;
    }
    const field = fieldOf(e);
    if (field === undefined) {
      push(base, 'is invalid');
      continue;
    }
    const prop = eventsSchemaNode.properties?.[field];
    if (!prop) {
      push(joinPath(base, field), 'is invalid');
      continue;
    }
    if (e.keyword === 'minLength') push(joinPath(base, field), 'must not be empty');
    else push(joinPath(base, field), `must be ${describeSchema(prop)}`);
  }

  if (identityMissing) {
    const idPaths = [joinPath(base, 'userId'), joinPath(base, 'anonymousId')];
    if (!out.some((e) => idPaths.includes(e.path))) {
      push(joinPath(base, 'userId'), 'a userId or an anonymousId is required');
    }
  }
  return out;
}
