import type { Express } from 'express';
import type { Kafka } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Document, MongoClient } from 'mongodb';
import type { z } from 'zod';
import type { BaseConfig } from '../config/config.js';
import { createFaults, type Faults } from '../faults/faults.js';
import { createReadiness, type Readiness } from '../http/readiness.js';
import type { ConsumerRunner } from '../kafka/consumer-runner.js';
import { createEventProducer, type EventProducer } from '../kafka/event-producer.js';
import { createKafka } from '../kafka/kafka-client.js';
import { startLeadership, type LeaderElectionConfig } from '../kube/leadership.js';
import { ensureTopics, type TopicDefinition } from '../kafka/topics.js';
import { createLifecycle, type Lifecycle } from '../lifecycle/lifecycle.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createMongoClient, pingMongo } from '../mongo/mongo-client.js';
import {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../mongo/outbox-relay.js';
import { createRedisClient, pingRedis, waitForRedis } from '../redis/redis-client.js';
import { getTelemetry } from '../telemetry/handle.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { observeMongoCommands, observeRedisCommands } from '../telemetry/db-metrics.js';
import { listen } from './listen.js';
import { isPoisonPublishError, outboxPublisher } from './outbox-publisher.js';
import { kafkaSasl, type kafkaConfigShape, type mongoConfigShape } from './service-config.js';

/** The parsed Kafka variables of {@link kafkaConfigShape}. */
export type KafkaConfig = z.output<z.ZodObject<typeof kafkaConfigShape>>;
/** The parsed MongoDB variables of {@link mongoConfigShape}. */
export type MongoConfig = z.output<z.ZodObject<typeof mongoConfigShape>>;

/** The topics a service produces to and consumes from. */
export interface KafkaTopics {
  produces?: readonly TopicDefinition<unknown>[];
  consumes?: readonly TopicDefinition<unknown>[];
}

/** Options of {@link ServiceRuntime.relay}. */
export type RelayOptions<T extends Document = Document> = Omit<
  OutboxRelayOptions<T>,
  'publish' | 'metrics' | 'logger'
> & {
  producer: EventProducer;
  /** The topics the relayed events go to. */
  topics: readonly TopicDefinition<unknown>[];
  /**
   * With replicas: only the holder of this config's Lease relays, or every replica would
   * publish each event (and race the others' marks). Without a cluster the process leads alone.
   */
  leaderElection?: LeaderElectionConfig;
};

/**
 * What every service's main.ts wires the same way: logger, metrics, readiness, lifecycle and
 * faults, and the clients, workers and server, each registered for readiness and for its
 * phase of graceful shutdown as it is created.
 */
export interface ServiceRuntime {
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  readonly lifecycle: Lifecycle;
  readonly faults: Faults;
  /** A MongoDB client: pinged by /readyz, closed last. */
  mongo(config: MongoConfig): MongoClient;
  /**
   * A Kafka client, after creating the topics it produces and consumes (and, when it consumes,
   * its group's `<name>.dlq`).
   */
  kafka(config: KafkaConfig, topics: KafkaTopics): Promise<Kafka>;
  /** A Redis client, closed at shutdown; `ready` makes /readyz depend on it (else: degrade). */
  redis(url: string, options: { ready: boolean }): Promise<Redis>;
  /** A connected idempotent producer with source `/emporium/<name>`, disconnected at shutdown. */
  producer(kafka: Kafka): Promise<EventProducer>;
  /** An outbox relay publishing through `producer`; started by serve(), stopped at shutdown. */
  relay<T extends Document>(options: RelayOptions<T>): OutboxRelay;
  /** A consumer group member; started by serve(), stopped (and committed) at shutdown. */
  consumer(runner: ConsumerRunner): ConsumerRunner;
  /** Listens on `port`, then starts relays and consumers; resolves with the bound port. */
  serve(app: Express, port: number): Promise<number>;
}

/** Creates the runtime of a service and starts listening for SIGTERM/SIGINT. */
export function createServiceRuntime(name: string, config: BaseConfig): ServiceRuntime {
  const logger = createLogger({
    service: name,
    version: config.SERVICE_VERSION,
    level: config.LOG_LEVEL,
  });
  const metrics = createMetrics({ service: name });
  const readiness = createReadiness();
  const lifecycle = createLifecycle({
    logger,
    readiness,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
  });
  lifecycle.listen();
  lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
  const faults = createFaults(config.FAULTS, { metrics });
  const relays: OutboxRelay[] = [];
  const consumers: ConsumerRunner[] = [];

  return {
    name,
    logger,
    metrics,
    readiness,
    lifecycle,
    faults,
    mongo: (mongoConfig) => {
      const client = createMongoClient({
        url: mongoConfig.MONGO_URL,
        appName: name,
        retryWrites: mongoConfig.MONGO_RETRY_WRITES,
        ...(mongoConfig.MONGO_TLS_CA_FILE ? { tlsCaFile: mongoConfig.MONGO_TLS_CA_FILE } : {}),
        extra: { monitorCommands: true },
      });
      observeMongoCommands(client, metrics);
      readiness.register('mongodb', () => pingMongo(client));
      lifecycle.onShutdown('clients', 'mongodb', () => client.close());
      return client;
    },
    kafka: async (kafkaConfig, { produces = [], consumes = [] }) => {
      const sasl = kafkaSasl(kafkaConfig);
      const kafka = createKafka({
        clientId: name,
        brokers: kafkaConfig.KAFKA_BROKERS,
        ssl: kafkaConfig.KAFKA_SSL,
        ...(sasl ? { sasl } : {}),
        logger,
      });
      await ensureTopics(kafka, {
        topics: [...produces, ...consumes],
        consumerGroups: consumes.length > 0 ? [kafkaConfig.KAFKA_GROUP_ID ?? name] : [],
      });
      return kafka;
    },
    redis: async (url, { ready }) => {
      const redis = createRedisClient({ url, connectionName: name, logger });
      observeRedisCommands(redis, metrics);
      if (ready) {
        readiness.register('redis', () => pingRedis(redis));
        // Start anyway: /readyz reports the outage and requests answer 503 until Redis is back.
        await waitForRedis(redis, 5_000).catch((error: unknown) => {
          logger.warn({ err: error }, 'redis not reachable yet');
        });
      }
      lifecycle.onShutdown('clients', 'redis', async () => {
        // QUIT lets in-flight commands finish; a Redis that is down cannot take it.
        await redis.quit().catch(() => {
          redis.disconnect();
        });
      });
      return redis;
    },
    producer: async (kafka) => {
      const producer = createEventProducer({ kafka, source: `/emporium/${name}`, metrics, logger });
      await producer.connect();
      lifecycle.onShutdown('clients', 'kafka producer', () => producer.disconnect());
      return producer;
    },
    relay: ({ producer, topics, leaderElection, ...options }) => {
      // The next safety-net scan after a replica takes the Lease finds what is pending.
      const leadership =
        leaderElection &&
        startLeadership(leaderElection, {
          logger,
          metrics,
          onStartedLeading: () => undefined,
          onStoppedLeading: () => undefined,
        });
      const relay = createOutboxRelay({
        isPoison: isPoisonPublishError,
        ...options,
        ...(leadership ? { isLeader: () => leadership.isLeader() } : {}),
        publish: outboxPublisher(producer, topics),
        metrics,
        logger,
      });
      relays.push(relay);
      // The round in flight finishes before the Lease goes, so the next leader never relays
      // beside this one.
      lifecycle.onShutdown('workers', 'outbox relay', async () => {
        await relay.stop();
        await leadership?.stop();
      });
      return relay;
    },
    consumer: (runner) => {
      consumers.push(runner);
      lifecycle.onShutdown('consumers', `consumer ${runner.groupId}`, () => runner.stop());
      readiness.register(`kafka-consumer-${runner.groupId}`, () =>
        runner.isRunning() ? Promise.resolve() : Promise.reject(new Error('consumer stopped')),
      );
      return runner;
    },
    serve: async (app, port) => {
      const bound = await listen(app, port, lifecycle, {
        reusePort: config.HTTP_REUSE_PORT,
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      });
      for (const relay of relays) relay.start();
      for (const runner of consumers) await runner.start();
      logger.info({ port: bound.port }, `${name} listening`);
      return bound.port;
    },
  };
}
