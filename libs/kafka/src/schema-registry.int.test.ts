// Against a REAL schema registry (Apicurio from scripts/registry.sh, or SCHEMA_REGISTRY_URL).
import { describe, expect, it } from 'vitest';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { isAppError } from '@tinycdp/common';
import { freePort, getSchemaRegistryUrl, isolatedTopicPrefix } from '@tinycdp/testkit';
import {
  RegistryValueDecoder,
  SchemaRegistryRest,
  connectSchemaRegistry,
  wireEncoder,
  wireSchemaId,
  type TopicSchemaRegistry,
} from './schema-registry';
import { topicNames } from './topics';

const url = getSchemaRegistryUrl();
const topics = topicNames(isolatedTopicPrefix());

async function rejection(p: unknown): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('schema registry (real)', () => {
  let reg: TopicSchemaRegistry;

  it('registers the topic schemas under <topic>-value with BACKWARD, idempotently', async () => {
    reg = await connectSchemaRegistry({ url, topics });
    expect(new Set(Object.values(reg.ids)).size).toBe(3);
    const again = await connectSchemaRegistry({ url, topics });
    expect(again.ids).toEqual(reg.ids);
    const config = (await (await fetch(`${url}/config/${topics.events}-value`)).json()) as { compatibilityLevel: string };
    expect(config.compatibilityLevel).toBe('BACKWARD');
    const latest = (await (await fetch(`${url}/subjects/${topics.events}-value/versions/latest`)).json()) as { id: number };
    expect(latest.id).toBe(reg.ids.events);
  });

  it('refuses an incompatible change with 409 (conflict)', async () => {
    const rest = new SchemaRegistryRest(url);
    const subject = `${topics.events}-com.example.Compat`;
    await rest.setCompatibility(subject, 'BACKWARD');
    const v1 = { type: 'record', name: 'Compat', namespace: 'com.example', fields: [{ name: 'userId', type: 'string' }] };
    await rest.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) });
    // A new required field without a default: new readers cannot read old data.
    const v2 = { ...v1, fields: [...v1.fields, { name: 'plan', type: 'string' }] };
    const err = await rejection(rest.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v2) }));
    expect(isAppError(err) && err.code).toBe('conflict');
    expect((err as { details: { status: number } }).details.status).toBe(409);
    // With a default it is compatible.
    const v3 = { ...v1, fields: [...v1.fields, { name: 'plan', type: 'string', default: 'free' }] };
    expect(await rest.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v3) })).toBeGreaterThan(0);
  });

  it('decodes JSON Schema, Avro and Protobuf by id, and plain JSON', async () => {
    const client = new SchemaRegistry({ host: url });
    const dec = new RegistryValueDecoder(url);
    const event = { type: 'track', userId: 'u1', event: 'purchase', properties: { amount: 5 } };

    expect(await dec.decode(Buffer.from(JSON.stringify(event)))).toEqual(event);
    const ours = reg.encoder('events').encode(JSON.stringify(event));
    expect(wireSchemaId(ours)).toBe(reg.ids.events);
    expect(await dec.decode(ours)).toEqual(event);

    const avro = {
      type: 'record',
      name: 'Track',
      namespace: 'com.example',
      fields: [
        { name: 'type', type: 'string' },
        { name: 'userId', type: 'string' },
        { name: 'event', type: 'string' },
        { name: 'properties', type: { type: 'map', values: ['null', 'boolean', 'double', 'string'] } },
      ],
    };
    const a = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(avro) }, { subject: `${topics.events}-com.example.Track` });
    const decoded = await dec.decode(await client.encode(a.id, event));
    expect(decoded).toEqual(event);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);

    const proto = 'syntax = "proto3";\nmessage Track { string type = 1; string userId = 2; string event = 3; map<string, string> properties = 4; }';
    const p = await client.register({ type: SchemaType.PROTOBUF, schema: proto }, { subject: `${topics.events}-Track-proto` });
    const pe = { type: 'track', userId: 'u2', event: 'signup', properties: { plan: 'free' } };
    expect(await dec.decode(await client.encode(p.id, pe))).toEqual(pe);
  });

  it('reports an unknown id and a payload failing its schema as bad messages (not retriable)', async () => {
    const dec = new RegistryValueDecoder(url);
    const unknown = await rejection(dec.decode(wireEncoder(987_654_321).encode('{}')));
    expect(isAppError(unknown) && unknown.code).toBe('validation_failed');
    expect(isAppError(unknown) && unknown.retriable).toBe(false);
    expect((unknown as Error).message).toMatch(/unknown schema id 987654321/);

    const bad = await rejection(dec.decode(reg.encoder('events').encode(JSON.stringify({ type: 'track', userId: 'u1' }))));
    expect(isAppError(bad) && bad.code).toBe('validation_failed');
    expect((bad as Error).message).toMatch(new RegExp(`does not match schema id ${reg.ids.events} \\(JSON\\)`));
  });

  it('reports an unreachable registry as retriable unavailable', async () => {
    const dec = new RegistryValueDecoder(`http://127.0.0.1:${await freePort()}/apis/ccompat/v7`, { retries: 0 });
    const err = await rejection(dec.decode(wireEncoder(1).encode('{}')));
    expect(isAppError(err) && err.code).toBe('unavailable');
    expect(isAppError(err) && err.retriable).toBe(true);
    // Plain JSON never needs the registry.
    expect(await dec.decode(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
  });
});
