// Readiness probe for scripts/kafka.sh: exits 0 once the broker at argv[2] (host:port) serves metadata
// AND its group and transaction coordinators are loaded (the first FindCoordinator / InitProducerId create
// __consumer_offsets / __transaction_state; until they are loaded, consumer groups and idempotent producers
// get COORDINATOR_LOAD_IN_PROGRESS, which kafkajs retries but logs as ERROR and which slows the first test).
// Exits 1 when argv[3] ms pass first. Uses the repo's kafkajs so "ready" also means "kafkajs can talk to it".
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../package.json', import.meta.url));
const { Kafka, logLevel } = require('kafkajs');

const broker = process.argv[2] ?? '127.0.0.1:9092';
const deadline = Date.now() + Number(process.argv[3] ?? 60_000);
let lastError = 'no attempt';

while (Date.now() < deadline) {
  const kafka = new Kafka({
    clientId: 'tinycdp-kafka-ready',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  // kafkajs requires retries for an idempotent producer; the outer loop does the real waiting.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no brokers registered yet');
    await admin.describeGroups(['tinycdp-kafka-ready']);
    await producer.connect(); // idempotent → InitProducerId
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    process.exit(0);
  } catch (err) {
    lastError = err instanceof Error ? err.message : String(err);
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    await new Promise((r) => setTimeout(r, 250));
  }
}
console.error(`kafka not ready at ${broker}: ${lastError}`);
process.exit(1);
