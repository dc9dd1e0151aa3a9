import { startKafka, startMongo, type KafkaServer, type MongoServer } from '@emporium/harness';
import type { Kafka } from 'kafkajs';
import { MongoClient, type Db, type Document } from 'mongodb';
import { pino } from 'pino';
import {
  createConsumerRunner,
  type ConsumerRunner,
  type ConsumerRunnerOptions,
} from '../kafka/consumer-runner.js';
import { createEventProducer, type EventProducer } from '../kafka/event-producer.js';
import { createKafka } from '../kafka/kafka-client.js';
import { ensureTopics, type TopicDefinition } from '../kafka/topics.js';
import type { Logger } from '../logging/logger.js';
import {
  createOutboxRelay,
  type OutboxRelay,
  type OutboxRelayOptions,
} from '../mongo/outbox-relay.js';
import { isPoisonPublishError, outboxPublisher } from '../service/outbox-publisher.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { startWatcher, type EventWatcher } from './event-watcher.js';
import { createTeardown } from './teardown.js';

/** Options of {@link startEventsFixture}. */
export interface EventsFixtureOptions {
  /** The service under test: names its metrics, Kafka client, consumer group and database. */
  service: string;
  /** Topics the service publishes to (through its outbox relay). */
  produces?: readonly TopicDefinition<unknown>[];
  /** Topics the service consumes; when there are any, its group's `<service>.dlq` too. */
  consumes?: readonly TopicDefinition<unknown>[];
  /** CloudEvents source of the fixture's producer; `/emporium/test` by default. */
  source?: string;
}

/** Options of {@link EventsFixture.relay}: those of the relay, without its plumbing. */
export type FixtureRelayOptions<T extends Document = Document> = Omit<
  OutboxRelayOptions<T>,
  'publish' | 'metrics' | 'logger'
> & {
  /** The topics the relayed events go to; the fixture's `produces` by default. */
  topics?: readonly TopicDefinition<unknown>[];
};

/** Options of {@link EventsFixture.consume}: those of the runner, without its plumbing. */
export type FixtureConsumerOptions = Omit<
  ConsumerRunnerOptions,
  'kafka' | 'groupId' | 'handlers' | 'metrics' | 'logger'
>;

/**
 * Real Kafka and FerretDB with the clients a service's event test wires its handlers to; every
 * piece it starts is stopped by {@link EventsFixture.stop}, last started first.
 */
export interface EventsFixture {
  readonly kafkaServer: KafkaServer;
  readonly mongoServer: MongoServer;
  readonly client: MongoClient;
  /** The database `<service>_events_test`. */
  readonly db: Db;
  readonly kafka: Kafka;
  /** The service's registry (`service` label), for its handlers and the tests' assertions. */
  readonly metrics: Metrics;
  /** Silent unless TEST_LOG names a level. */
  readonly logger: Logger;
  /** A connected producer; tests publish the events the service consumes with it. */
  readonly producer: EventProducer;
  /** Starts an outbox relay through the fixture's producer, scanning every 100 ms unless told. */
  relay<T extends Document>(options: FixtureRelayOptions<T>): OutboxRelay;
  /** Starts a member of the service's consumer group with the handlers `wire` adds. */
  consume(
    wire: (runner: ConsumerRunner) => ConsumerRunner,
    options?: FixtureConsumerOptions,
  ): Promise<ConsumerRunner>;
  /** Starts collecting what other services see on `topic` (a definition or a plain name). */
  watch(topic: TopicDefinition<unknown> | string): Promise<EventWatcher>;
  /** Stops everything, even past a failing step; the first failure is rethrown at the end. */
  stop(): Promise<void>;
}

function valueOf<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** Starts Kafka and FerretDB, creates the service's topics and connects a producer. */
export async function startEventsFixture(options: EventsFixtureOptions): Promise<EventsFixture> {
  const { service, produces = [], consumes = [], source = '/emporium/test' } = options;
  const teardown = createTeardown();
  try {
    // Settled, not Promise.all: a component that did start is stopped when the other fails.
    const started = await Promise.allSettled([startKafka(), startMongo()]);
    teardown.defer(async () => {
      await Promise.all(
        started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : Promise.resolve())),
      );
    });
    const [kafkaServer, mongoServer] = [valueOf(started[0]), valueOf(started[1])];
    const client = new MongoClient(mongoServer.url);
    teardown.defer(() => client.close());
    const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
    const metrics = createMetrics({ service, runtimeMetrics: false });
    const kafka = createKafka({
      clientId: `${service}-test`,
      brokers: kafkaServer.brokers,
      logger,
    });
    await ensureTopics(kafka, {
      topics: [...produces, ...consumes],
      consumerGroups: consumes.length > 0 ? [service] : [],
    });
    const producer = createEventProducer({ kafka, source, metrics, logger });
    await producer.connect();
    teardown.defer(() => producer.disconnect());

    return {
      kafkaServer,
      mongoServer,
      client,
      db: client.db(`${service}_events_test`),
      kafka,
      metrics,
      logger,
      producer,
      relay: ({ topics = produces, intervalMs = 100, ...relayOptions }) => {
        const relay = createOutboxRelay({
          isPoison: isPoisonPublishError,
          ...relayOptions,
          intervalMs,
          publish: outboxPublisher(producer, topics),
          metrics,
          logger,
        });
        teardown.defer(() => relay.stop());
        relay.start();
        return relay;
      },
      consume: async (wire, consumerOptions = {}) => {
        const runner = wire(
          createConsumerRunner({ ...consumerOptions, kafka, groupId: service, metrics, logger }),
        );
        teardown.defer(() => runner.stop());
        await runner.start();
        return runner;
      },
      watch: (topic) => startWatcher(kafka, topic, teardown.defer),
      stop: () => teardown.run(),
    };
  } catch (error) {
    // The start failure is the one worth reporting; a teardown failure after it is noise.
    await teardown.run().catch(() => undefined);
    throw error;
  }
}
