// Public API of @tinycdp/kafka. Two owners add exports here: the batching producer (ingest) and
// topics/consumers (processor). Append; do not reorder.
export { topicNames, topicSpecs, ensureTopics, topicSettingsFromConfig, DEFAULT_TOPIC_SETTINGS } from './topics';
export type { TopicNames, TopicSettings, ConfiguredTopicSettings, EnsureTopicsResult, PartitionMismatch } from './topics';
export { murmur2, partitionForKey } from './partitioner';
export { DEFAULT_FETCH_MB, processorConsumerConfig } from './consumer-config';
export { INSTANCE_ASSIGNER, assignByInstance, instanceAssigner } from './instance-assigner';
export { DefinitionsReader, DefinitionsWriter } from './definitions-log';
export type { DefinitionRecord } from './definitions-log';
export { BatchingProducer, PRODUCER_CONFIG, type BatchingProducerOptions, type BatchSender, type ProducerRecord } from './batching-producer';
export { ThreadedProducer, PRODUCE_THREAD_SETTING, produceThread, messageFromClone, type KafkaConnection, type RecordsBatch } from './threaded-producer';
export { encodeRecordBatch, installRecordBatchEncoding } from './record-batch-encoding';
export { kafkajsModules } from './kafkajs-modules';
export { sendRecords, SEND_MAX_RECORDS, SEND_MAX_BYTES } from './send-records';
export type { RecordProducer } from './send-records';
export {
  SchemaRegistryRest,
  RegistryValueDecoder,
  connectSchemaRegistry,
  registerTopicSchemas,
  wireEncoder,
  wireSchemaId,
  wireRecordSink,
  toPlainJson,
  WIRE_MAGIC,
  WIRE_HEADER_BYTES,
  WIRE_CONTENT_TYPE,
} from './schema-registry';
export type {
  Compatibility,
  RegistrySchemaType,
  SchemaToRegister,
  SchemaTopic,
  ValueEncoder,
  RegistryDecoderOptions,
  TopicSchemaRegistry,
} from './schema-registry';
