// A side of the kafka-runner pair set up as bench/src/kafka/consume.ts sets it up, profiled
// from the first event to the last with the inspector's Profiler in its own process (so the
// bench's own modules and the other side's SDK stay out of the profile). Env: BENCH_MODE
// (runner | raw), KAFKA_BROKERS, BENCH_GROUP, BENCH_EVENTS, OTEL_EXPORTER_OTLP_ENDPOINT and
// BENCH_PROFILE_OUT (where the .cpuprofile goes). Prints {"events", "seconds", "cpuMs", "fromUs", "toUs"}.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import type { IdempotencyStore } from '@emporium/platform';
import { Kafka, logLevel } from 'kafkajs';
import { BENCH_TOPIC } from '../kafka/topic-name.js';

const mode = process.env.BENCH_MODE;
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const groupId = process.env.BENCH_GROUP ?? 'bench-profile';
const events = Number(process.env.BENCH_EVENTS ?? '1000');
const out = process.env.BENCH_PROFILE_OUT;
if (!out) throw new Error('BENCH_PROFILE_OUT must name the .cpuprofile to write');

const session = new Session();
session.connect();
await session.post('Profiler.enable');
// 1 ms, as --cpu-prof samples, so the profiles of the pair's sides read alike.
await session.post('Profiler.setSamplingInterval', { interval: 1000 });

let seen = 0;
let first: number | undefined;
let cpuAtFirst: NodeJS.CpuUsage | undefined;
let profiling: Promise<unknown> | undefined;
let resolveDone: (seconds: number) => void = () => undefined;
const done = new Promise<number>((resolve) => (resolveDone = resolve));

/** Counts one event; the first starts the clock and the profiler, the last stops the clock. */
function count(): void {
  if (first === undefined) {
    first = performance.now();
    cpuAtFirst = process.cpuUsage();
    // Started here, not at start-up: joining the group and the first fetch are not per-event cost.
    profiling = session.post('Profiler.start');
  }
  seen++;
  if (seen === events) resolveDone((performance.now() - first) / 1000);
}

/** As consume.ts: the runner's two idempotency calls against memory, not a database. */
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
  const {
    createConsumerRunner,
    createKafka,
    createLogger,
    createMetrics,
    eventHandler,
    startTelemetry,
  } = await import('@emporium/platform');
  const { benchTopic } = await import('../kafka/bench-topic.js');
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
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic: BENCH_TOPIC, fromBeginning: true });
  await consumer.run({
    eachBatch: async (payload) => {
      for (const message of payload.batch.messages) {
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
// The whole process's CPU (every thread) from the first event to the last, in ms.
const cpu = process.cpuUsage(cpuAtFirst);
const cpuMs = (cpu.user + cpu.system) / 1000;
await profiling;
const { profile } = await session.post('Profiler.stop');
session.disconnect();
await writeFile(out, JSON.stringify(profile));
await stop();
process.stdout.write(
  `${JSON.stringify({ events: seen, seconds, cpuMs, fromUs: profile.startTime, toUs: profile.endTime })}\n`,
);
