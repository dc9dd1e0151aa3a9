// The two sides of the Kafka pair, each started in a process of its own by consume.ts (timed)
// and by profile/kafka-consumer.ts (profiled), so both measure the same consumers.
import type { IdempotencyStore } from '@emporium/platform';
import { Kafka, logLevel } from 'kafkajs';
import { BENCH_TOPIC } from './topic-name.js';

/** Which side: the platform's consumer runner, or raw kafkajs `eachBatch`. */
export type ConsumerMode = 'runner' | 'raw';

/** Where a side reads from, and what it calls for each event. */
export interface ConsumerSideOptions {
  readonly brokers: readonly string[];
  readonly groupId: string;
  /** Called once per event consumed. */
  readonly onEvent: () => void;
}

/** The side BENCH_MODE names; throws for anything else. */
export function consumerMode(value: string | undefined): ConsumerMode {
  if (value !== 'runner' && value !== 'raw') throw new Error('BENCH_MODE must be runner or raw');
  return value;
}

/**
 * An in-memory idempotency store: no service backs the runner's hook with a database today
 * (they deduplicate by natural keys), so this measures the runner's own cost of the two calls.
 */
function memoryIdempotency(): IdempotencyStore {
  const processed = new Set<string>();
  return {
    isProcessed: (eventId, group) => Promise.resolve(processed.has(`${group}/${eventId}`)),
    markProcessed: (eventId, group) => {
      processed.add(`${group}/${eventId}`);
      return Promise.resolve();
    },
  };
}

async function runner(options: ConsumerSideOptions): Promise<() => Promise<void>> {
  // Loaded here, not at the top: the raw side must not pay for loading the chassis.
  const { createConsumerRunner, createKafka, createLogger, createMetrics, eventHandler } =
    await import('@emporium/platform');
  const { benchTopic } = await import('./bench-topic.js');
  const { startBenchTelemetry } = await import('./bench-telemetry.js');
  // Tracing on and exported as in a service; the runner makes its own spans, so no library
  // instrumentation is needed.
  const telemetry = startBenchTelemetry('bench-consumer');
  const logger = createLogger({ service: 'bench-consumer', version: '0.0.0', level: 'warn' });
  const consumer = createConsumerRunner({
    kafka: createKafka({ clientId: 'bench-runner', brokers: options.brokers, logger }),
    groupId: options.groupId,
    metrics: createMetrics({ service: 'bench-consumer' }),
    logger,
    idempotency: memoryIdempotency(),
    handlers: [
      eventHandler(benchTopic, () => {
        options.onEvent();
        return Promise.resolve();
      }),
    ],
  });
  await consumer.start();
  return async () => {
    await consumer.stop();
    await telemetry.shutdown();
  };
}

async function raw(options: ConsumerSideOptions): Promise<() => Promise<void>> {
  const kafka = new Kafka({
    clientId: 'bench-raw',
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
  });
  // As the runner's consumer is configured, so fetching behaves the same on both sides.
  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: BENCH_TOPIC, fromBeginning: true });
  await consumer.run({
    eachBatch: async (payload) => {
      for (const message of payload.batch.messages) {
        // What a hand-written consumer does at least: read the JSON it was sent.
        JSON.parse(message.value?.toString() ?? 'null');
        options.onEvent();
        payload.resolveOffset(message.offset);
      }
      await payload.heartbeat();
    },
  });
  return () => consumer.disconnect();
}

/** Starts the side `mode` consuming the bench topic from its start; resolves to its stop. */
export function startConsumerSide(
  mode: ConsumerMode,
  options: ConsumerSideOptions,
): Promise<() => Promise<void>> {
  return mode === 'runner' ? runner(options) : raw(options);
}
