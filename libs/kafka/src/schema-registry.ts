/**
 * Confluent-compatible schema registry support (Confluent Schema Registry, Apicurio's /apis/ccompat/v7,
 * Redpanda, Karapace — anything speaking the Confluent REST API).
 *
 * - Start-up: the topic value schemas in `schemas/` are registered under `<topic>-value` (type JSON,
 *   compatibility BACKWARD); a wrong URL or an incompatible change makes the service refuse to start.
 * - Producing: the Confluent wire format — magic byte 0, the 4-byte big-endian schema id, then the
 *   payload (JSON text for our JSON Schemas).
 * - Consuming: per message, wire format (any registered type a direct producer may use: JSON Schema,
 *   Avro, Protobuf; decoded by id with @kafkajs/confluent-schema-registry, schemas cached) or plain JSON.
 *   A registry that cannot be reached is an infrastructure fault (AppError 'unavailable', retriable: the
 *   batch is retried, a valid event is never dead-lettered because the registry blipped); an unknown
 *   schema id or a payload that fails its schema is the message's fault (AppError 'validation_failed').
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import Ajv from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { AppError } from '@tinycdp/common';
import { topicValueSchemas, type SchemaTopic } from './schema-registry-schemas';
import type { TopicNames } from './topics';
import { sendRecords, type RecordProducer } from './send-records';

export type { SchemaTopic };

/** Magic byte of the Confluent wire format. */
export const WIRE_MAGIC = 0;
/** Magic byte + 4-byte schema id. */
export const WIRE_HEADER_BYTES = 5;
/** `content-type` header of records TinyCDP writes in the wire format (plain JSON records keep application/json). */
export const WIRE_CONTENT_TYPE = 'application/vnd.confluent.wire+json';

export type Compatibility =
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE'
  | 'NONE';

export type RegistrySchemaType = 'JSON' | 'AVRO' | 'PROTOBUF';

export interface SchemaToRegister {
  readonly schemaType: RegistrySchemaType;
  /** The schema document as text (JSON for JSON Schema and Avro, .proto text for Protobuf). */
  readonly schema: string;
  readonly references?: readonly { name: string; subject: string; version: number }[];
}

const REST_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * The few REST calls a service makes itself (config, register). Decoding by id goes through the
 * @kafkajs client, which caches schemas.
 */
export class SchemaRegistryRest {
  readonly url: string;

  constructor(
    url: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.url = url.replace(/\/+$/, '');
  }

  /** @throws AppError 'unavailable' (retriable) when the registry cannot be reached or fails. */
  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  /**
   * Registers `schema` under `subject` (idempotent: an identical schema returns its existing id).
   * @throws AppError 'conflict' (HTTP 409) when the subject's compatibility rule refuses the change;
   *   'validation_failed' (400/422) for an invalid schema; 'unavailable' (retriable) when unreachable.
   */
  async register(subject: string, schema: SchemaToRegister): Promise<number> {
    const body = await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      // Confluent's API omits schemaType for Avro (the default).
      ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
      schema: schema.schema,
      ...(schema.references ? { references: schema.references } : {}),
    });
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id !== 'number') throw new AppError('unavailable', `schema registry answered without an id for ${subject}`, { retriable: true });
    return id;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: { 'content-type': REST_CONTENT_TYPE, accept: `${REST_CONTENT_TYPE}, application/json` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new AppError('unavailable', `schema registry ${this.url} unreachable: ${(cause as Error).message}`, { retriable: true, cause });
    }
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (res.ok) return data;
    const message = (data as { message?: unknown } | null)?.message;
    const detail = `${method} ${path} → ${res.status}${typeof message === 'string' ? `: ${message}` : ''}`;
    const details = { status: res.status, body: data };
    if (res.status === 409) throw new AppError('conflict', `schema registry refused an incompatible schema (${detail})`, { details });
    if (res.status === 400 || res.status === 422) throw new AppError('validation_failed', `schema registry rejected the schema (${detail})`, { details });
    if (res.status === 401 || res.status === 403) throw new AppError('unavailable', `schema registry denied access (${detail})`, { retriable: false, details });
    if (res.status === 404) throw new AppError('not_found', `schema registry: not found (${detail}); is the URL the Confluent-compatible API root?`, { details });
    throw new AppError('unavailable', `schema registry failed (${detail})`, { retriable: true, details });
  }
}

/**
 * Registers the JSON Schemas of `schemas/` under `<topic>-value` with compatibility `BACKWARD`
 * (the default) and returns their ids. Idempotent.
 * @throws AppError 'conflict' if a schema is incompatible with what the subject holds; 'unavailable'.
 */
export async function registerTopicSchemas(
  rest: SchemaRegistryRest,
  topics: TopicNames,
  compatibility: Compatibility = 'BACKWARD',
): Promise<Record<SchemaTopic, number>> {
  const ids = {} as Record<SchemaTopic, number>;
  for (const { role, topic, schema } of topicValueSchemas(topics)) {
    const subject = `${topic}-value`;
    await rest.setCompatibility(subject, compatibility);
    ids[role] = await rest.register(subject, { schemaType: 'JSON', schema: JSON.stringify(schema) });
  }
  return ids;
}

/** Produces wire-format values for one schema id. */
export interface ValueEncoder {
  readonly schemaId: number;
  readonly contentType: string;
  /** JSON text → magic byte + schema id + the text's UTF-8 bytes. */
  encode(json: string): Buffer;
}

/** Encodes JSON text in the Confluent wire format under `schemaId` (no re-validation: callers validated). */
export function wireEncoder(schemaId: number): ValueEncoder {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) throw new RangeError(`invalid schema id ${schemaId}`);
  return {
    schemaId,
    contentType: WIRE_CONTENT_TYPE,
    encode(json: string): Buffer {
      const buf = Buffer.allocUnsafe(WIRE_HEADER_BYTES + Buffer.byteLength(json));
      buf[0] = WIRE_MAGIC;
      buf.writeUInt32BE(schemaId, 1);
      buf.write(json, WIRE_HEADER_BYTES, 'utf8');
      return buf;
    },
  };
}

/** The schema id of a wire-format value, or null when the value is not in the wire format. */
export function wireSchemaId(value: Buffer): number | null {
  if (value.length < WIRE_HEADER_BYTES || value[0] !== WIRE_MAGIC) return null;
  return value.readUInt32BE(1);
}

interface LoadedSchema {
  readonly type: RegistrySchemaType;
  /** Payload (after the 5-byte header) → a plain JSON value; throws when it does not match. */
  readonly decode: (payload: Buffer) => unknown;
}

export interface RegistryDecoderOptions {
  /**
   * Ids whose schema the caller validates itself anyway (TinyCDP's own events schema: the processor's
   * validateMessage applies the very same document), so their JSON payloads are only parsed.
   */
  readonly trustedJsonIds?: Iterable<number>;
  /** How long an unknown schema id is remembered as unknown (ms), so a flood of them costs one lookup. */
  readonly unknownIdTtlMs?: number;
  /** HTTP retries of the registry client per lookup (the consumer retries the whole batch after that). */
  readonly retries?: number;
  readonly clientId?: string;
}

/**
 * Decodes values read from a topic: the Confluent wire format (JSON Schema, Avro, Protobuf — by schema
 * id, schemas cached for the process lifetime since a registered id never changes) or plain JSON.
 */
export class RegistryValueDecoder {
  private readonly client: SchemaRegistry;
  private readonly schemas = new Map<number, LoadedSchema>();
  private readonly loading = new Map<number, Promise<LoadedSchema>>();
  private readonly unknown = new Map<number, { until: number; reason: string }>();
  private readonly trusted: ReadonlySet<number>;
  private readonly unknownTtlMs: number;

  constructor(url: string, opts: RegistryDecoderOptions = {}) {
    this.client = new SchemaRegistry(
      { host: url.replace(/\/+$/, ''), clientId: opts.clientId ?? 'tinycdp', retry: { retries: opts.retries ?? 2 } },
      // JSON Schemas of any draft (ours are 2020-12; the client's own ajv 7 knows only draft-07).
      { [SchemaType.JSON]: { ajvInstance: perSchemaAjv() as never } },
    );
    this.trusted = new Set(opts.trustedJsonIds ?? []);
    this.unknownTtlMs = opts.unknownIdTtlMs ?? 10_000;
  }

  /**
   * Value bytes → JSON value. Bound, so it can be passed around as a function.
   * @throws AppError 'unavailable' (retriable) when the registry cannot be reached;
   *   AppError 'validation_failed' for an unknown schema id or a payload that fails its schema;
   *   SyntaxError for a plain value that is not JSON.
   */
  readonly decode = (value: Buffer): unknown | Promise<unknown> => {
    if (value.length === 0 || value[0] !== WIRE_MAGIC) return JSON.parse(value.toString('utf8'));
    if (value.length < WIRE_HEADER_BYTES) {
      throw new AppError('validation_failed', `value starts with the wire-format magic byte but has only ${value.length} bytes`);
    }
    const id = value.readUInt32BE(1);
    if (this.trusted.has(id)) return parseJsonPayload(value, id);
    const loaded = this.schemas.get(id);
    if (loaded) return decodeWith(loaded, id, value);
    return this.load(id).then((s) => decodeWith(s, id, value));
  };

  /** Number of schemas held in the cache (for health/metrics). */
  get cachedSchemas(): number {
    return this.schemas.size;
  }

  private load(id: number): Promise<LoadedSchema> {
    const miss = this.unknown.get(id);
    if (miss && miss.until > Date.now()) return Promise.reject(new AppError('validation_failed', miss.reason));
    let p = this.loading.get(id);
    if (!p) {
      p = this.fetch(id).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    return p;
  }

  private async fetch(id: number): Promise<LoadedSchema> {
    try {
      await this.client.getSchema(id);
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      const message = (err as Error).message ?? String(err);
      // 404 "Schema N not found" (error 40403). The client reports connection failures as status 400,
      // so every other answer means "registry unusable right now", never "bad message".
      if (status === 404 && /not found/i.test(message)) {
        const reason = `unknown schema id ${id}: the schema registry has no such schema`;
        this.unknown.set(id, { until: Date.now() + this.unknownTtlMs, reason });
        throw new AppError('validation_failed', reason, { cause: err });
      }
      if (typeof status === 'number') {
        throw new AppError('unavailable', `schema registry lookup of schema id ${id} failed: ${message}`, { retriable: true, cause: err });
      }
      // Fetched, but the client could not build it (unsupported type, schema its parser rejects).
      throw new AppError('validation_failed', `schema id ${id} cannot be used for decoding: ${message}`, { cause: err });
    }
    const entry = this.client.cache.getSchema(id) as { type: SchemaType; schema: unknown } | undefined;
    if (!entry) throw new AppError('unavailable', `schema id ${id} vanished from the registry client cache`, { retriable: true });
    const loaded = toLoaded(entry.type, entry.schema);
    this.schemas.set(id, loaded);
    return loaded;
  }
}

function parseJsonPayload(value: Buffer, id: number): unknown {
  try {
    return JSON.parse(value.toString('utf8', WIRE_HEADER_BYTES));
  } catch (err) {
    throw new AppError('validation_failed', `value (schema id ${id}, JSON) is not JSON: ${(err as Error).message}`);
  }
}

function decodeWith(s: LoadedSchema, id: number, value: Buffer): unknown {
  try {
    return s.decode(value.subarray(WIRE_HEADER_BYTES));
  } catch (err) {
    throw new AppError('validation_failed', `value does not match schema id ${id} (${s.type}): ${(err as Error).message}`, { cause: err });
  }
}

interface AjvErrorLike {
  instancePath?: string;
  dataPath?: string;
  message?: string;
}

function toLoaded(type: SchemaType, schema: unknown): LoadedSchema {
  const s = schema as { fromBuffer(b: Buffer): unknown; validate?: ((v: unknown) => boolean) & { errors?: AjvErrorLike[] | null } };
  switch (type) {
    case SchemaType.JSON: {
      const validate = s.validate;
      if (typeof validate !== 'function') return { type: 'JSON', decode: (p) => s.fromBuffer(p) };
      return {
        type: 'JSON',
        decode: (payload) => {
          const v: unknown = JSON.parse(payload.toString('utf8'));
          if (!validate(v)) {
            const errs = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || e.dataPath || '/'} ${e.message ?? 'is invalid'}`);
            throw new Error(errs.join('; ') || 'invalid payload');
          }
          return v;
        },
      };
    }
    case SchemaType.AVRO:
      return { type: 'AVRO', decode: (p) => toPlainJson(s.fromBuffer(p)) };
    case SchemaType.PROTOBUF:
      return { type: 'PROTOBUF', decode: (p) => toPlainJson(s.fromBuffer(p)) };
    case SchemaType.UNKNOWN:
      throw new AppError('validation_failed', 'unsupported schema type');
    default: {
      const never: never = type;
      throw new AppError('validation_failed', `unsupported schema type ${String(never)}`);
    }
  }
}

/**
 * A decoded Avro record / Protobuf message → plain JSON (objects with Object.prototype, ISO dates, base64
 * bytes, longs as strings via toJSON), so the event validation sees what a JSON producer would send.
 */
export function toPlainJson(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (depth > 64) throw new Error('value nested deeper than 64 levels');
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => toPlainJson(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as object | null;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (proto !== Object.prototype && proto !== null && typeof toJSON === 'function') {
    return toPlainJson((toJSON as () => unknown).call(value), depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // defineProperty: a key "__proto__" must stay a key (so validation can reject it), not set a prototype.
    Object.defineProperty(out, key, {
      value: toPlainJson((value as Record<string, unknown>)[key], depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

type AnyAjv = { addSchema(schema: object, key?: string): unknown; compile(schema: object): unknown };

/**
 * An `ajvInstance` for the registry client that compiles every schema in a fresh ajv of the schema's
 * draft: two versions of one subject share an `$id`, which a single ajv instance refuses to compile twice.
 */
function perSchemaAjv(): AnyAjv {
  let refs: { schema: object; key: string | undefined }[] = [];
  return {
    addSchema(schema: object, key?: string) {
      refs.push({ schema, key });
      return this;
    },
    compile(schema: object) {
      const draft = String((schema as { $schema?: unknown }).$schema ?? '');
      const opts = { strict: false, allErrors: false, allowUnionTypes: true } as const;
      const ajv: AnyAjv & Parameters<typeof addFormats>[0] = draft.includes('2020-12')
        ? new Ajv2020(opts)
        : draft.includes('2019-09')
          ? new Ajv2019(opts)
          : new Ajv(opts);
      addFormats(ajv);
      for (const r of refs) ajv.addSchema(r.schema, r.key);
      refs = [];
      return ajv.compile(schema);
    },
  };
}

/** A record sink (the processor's RecordSink shape) writing JSON-text values in the wire format. */
export function wireRecordSink(producer: RecordProducer, topic: string, encoder: ValueEncoder) {
  return {
    async send(records: readonly { readonly key: string; readonly value: string | Buffer; readonly headers?: Record<string, string> }[]) {
      await sendRecords(
        producer,
        topic,
        records.map((r) => ({
          key: r.key,
          value: typeof r.value === 'string' ? encoder.encode(r.value) : r.value,
          headers: { ...r.headers, 'content-type': encoder.contentType, 'schema-id': String(encoder.schemaId) },
        })),
      );
    },
  };
}

/** What a service gets from `connectSchemaRegistry`. */
export interface TopicSchemaRegistry {
  readonly url: string;
  /** Ids of TinyCDP's own topic schemas as registered at start-up. */
  readonly ids: Readonly<Record<SchemaTopic, number>>;
  readonly rest: SchemaRegistryRest;
  /** Processor: value bytes → JSON value, wire format or plain JSON (see RegistryValueDecoder.decode). */
  readonly decodeValue: (value: Buffer) => unknown | Promise<unknown>;
  /** Encoder for one of TinyCDP's topics (ingest: events; processor: segment changes). */
  encoder(role: SchemaTopic): ValueEncoder;
}

/**
 * Registers TinyCDP's topic schemas and returns the encoders and the decoder. Call once at start-up.
 * @throws AppError when the registry is unreachable, the URL is not a Confluent-compatible API root, or a
 *   schema is incompatible with what its subject holds — a service must refuse to start then.
 */
export async function connectSchemaRegistry(opts: {
  readonly url: string;
  readonly topics: TopicNames;
  readonly compatibility?: Compatibility;
  readonly clientId?: string;
}): Promise<TopicSchemaRegistry> {
  const rest = new SchemaRegistryRest(opts.url);
  const ids = Object.freeze(await registerTopicSchemas(rest, opts.topics, opts.compatibility ?? 'BACKWARD'));
  const decoder = new RegistryValueDecoder(rest.url, {
    trustedJsonIds: [ids.events],
    ...(opts.clientId ? { clientId: opts.clientId } : {}),
  });
  const encoders = new Map<SchemaTopic, ValueEncoder>();
  return {
    url: rest.url,
    ids,
    rest,
    decodeValue: decoder.decode,
    encoder(role) {
      let e = encoders.get(role);
      if (!e) encoders.set(role, (e = wireEncoder(ids[role])));
      return e;
    },
  };
}
