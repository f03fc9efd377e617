import { getServices, isolatedTopicPrefix, uniqueId } from '@tinycdp/testkit';
import { eventLogContract } from './event-log.contract';
import { KafkaEventLog } from './kafka-event-log';

// The same contract FileEventLog passes, against a real Kafka broker through kafkajs.
eventLogContract('Kafka (kafkajs, real broker)', async () => {
  const brokers = getServices().kafkaBrokers;
  const prefix = isolatedTopicPrefix();
  const topics: string[] = [];
  let log = new KafkaEventLog(brokers);
  return {
    get log() {
      return log;
    },
    unique(label: string) {
      const name = `${prefix}${uniqueId(label)}`;
      topics.push(name);
      return name;
    },
    async restart() {
      await log.close();
      log = new KafkaEventLog(brokers);
    },
    async cleanup() {
      await log.deleteTopics(topics);
      await log.close();
    },
  };
});
