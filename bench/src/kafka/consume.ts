// One side of the Kafka pair, as its own process (so the runner's tracing SDK and metrics do
// not touch the other side): consumes BENCH_EVENTS events of the bench topic from the start in a
// fresh group, then prints {"events": n, "seconds": s} timed from the first event to the last.
import { performance } from 'node:perf_hooks';
import type { IdempotencyStore } from '@emporium/platform';
import { Kafka, logLevel } from 'kafkajs';
import { BENCH_TOPIC } from './topic-name.js';

const mode = process.env.BENCH_MODE;
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const groupId = process.env.BENCH_GROUP ?? 'bench';
const events = Number(process.env.BENCH_EVENTS ?? '1000');

let seen = 0;
let first: number | undefined;
let resolveDone: (seconds: number) => void = () => undefined;
const done = new Promise<number>((resolve) => (resolveDone = resolve));

/** Counts one event; the first starts the clock, the last stops it. */
function count(): void {
  first ??= performance.now();
  seen++;
  if (seen === events) resolveDone((performance.now() - first) / 1000);
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

async function runner(): Promise<() => Promise<void>> {
  // Loaded here, not at the top: the raw side must not pay for loading the chassis.
  const {
    createConsumerRunner,
    createKafka,
    createLogger,
    createMetrics,
    eventHandler,
    startTelemetry,
  } = await import('@emporium/platform');
  const { benchTopic } = await import('./bench-topic.js');
  // Tracing on and exported as in a service; the runner makes its own spans, so no library
  // instrumentation is needed.
  const telemetry = startTelemetry({
    enabled: true,
    serviceName: 'bench-consumer',
    serviceVersion: '0.0.0-bench',
    environment: 'bench',
    otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://127.0.0.1:4318',
    sampleRatio: 1,
    instrumentations: [],
  });
  const logger = createLogger({ service: 'bench-consumer', version: '0.0.0', level: 'warn' });
  const consumer = createConsumerRunner({
    kafka: createKafka({ clientId: 'bench-runner', brokers, logger }),
    groupId,
    metrics: createMetrics({ service: 'bench-consumer' }),
    logger,
    idempotency: memoryIdempotency(),
    handlers: [
      eventHandler(benchTopic, () => {
        count();
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

async function raw(): Promise<() => Promise<void>> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
  // As the runner's consumer is configured, so fetching behaves the same on both sides.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: BENCH_TOPIC, fromBeginning: true });
  await consumer.run({
    eachBatch: async (payload) => {
      for (const message of payload.batch.messages) {
        // What a hand-written consumer does at least: read the JSON it was sent.
        JSON.parse(message.value?.toString() ?? 'null');
        count();
        payload.resolveOffset(message.offset);
      }
      await payload.heartbeat();
    },
  });
  return () => consumer.disconnect();
}

if (mode !== 'runner' && mode !== 'raw') throw new Error('BENCH_MODE must be runner or raw');
const stop = await (mode === 'runner' ? runner() : raw());
const seconds = await done;
await stop();
process.stdout.write(`${JSON.stringify({ events: seen, seconds })}\n`);
