import kafkajs from 'kafkajs';

/** Events per producer request while pre-producing. */
const BATCH = 1000;

/**
 * Produces `count` bench events to the bench topic (one partition) before any side consumes:
 * the kafka-runner scenario's input, and its profile's.
 */
export async function produceBenchEvents(brokers: readonly string[], count: number): Promise<void> {
  // Loaded on first use: the chassis takes seconds to load, which other scenarios need not wait.
  const { createKafka, createLogger, ensureTopics } = await import('@emporium/platform');
  const { benchRecord, benchTopic } = await import('./bench-topic.js');
  const logger = createLogger({ service: 'bench', version: '0.0.0', level: 'warn' });
  const kafka = createKafka({ clientId: 'bench-producer', brokers, logger });
  await ensureTopics(kafka, { topics: [benchTopic], numPartitions: 1 });
  // The default partitioner, named so kafkajs does not warn that its default changed in v2.
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let sent = 0; sent < count; sent += BATCH) {
      const n = Math.min(BATCH, count - sent);
      await producer.send({
        topic: benchTopic.name,
        messages: Array.from({ length: n }, (_, i) => benchRecord(sent + i)),
      });
    }
  } finally {
    await producer.disconnect();
  }
}
