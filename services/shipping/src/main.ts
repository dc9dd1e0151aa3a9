// Wiring only: config → clients → app and workers → listen → shutdown hooks.
import { paymentsTopic, shipmentsTopic } from '@emporium/contracts';
import {
  createConsumerRunner,
  createEventProducer,
  createFaults,
  createKafka,
  createLifecycle,
  createLogger,
  createMetrics,
  createMongoClient,
  createOutboxRelay,
  createReadiness,
  ensureTopics,
  getTelemetry,
  kafkaSasl,
  listen,
  outboxPublisher,
  pingMongo,
} from '@emporium/platform';
import { buildApp } from './app.js';
import { loadShippingConfig } from './config.js';
import { paymentsHandler } from './events/payment-authorized.handler.js';
import { shipmentsRepository } from './repositories/shipments.repository.js';

const config = loadShippingConfig(process.env);
const logger = createLogger({
  service: 'shipping',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'shipping' });
const readiness = createReadiness();
const lifecycle = createLifecycle({
  logger,
  readiness,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
});
lifecycle.listen();

const mongo = createMongoClient({
  url: config.MONGO_URL,
  appName: 'shipping',
  retryWrites: config.MONGO_RETRY_WRITES,
  ...(config.MONGO_TLS_CA_FILE ? { tlsCaFile: config.MONGO_TLS_CA_FILE } : {}),
});
const shipments = shipmentsRepository(mongo.db(config.MONGO_DATABASE));
await shipments.ensureIndexes();
readiness.register('mongodb', () => pingMongo(mongo));

const sasl = kafkaSasl(config);
const kafka = createKafka({
  clientId: 'shipping',
  brokers: config.KAFKA_BROKERS,
  ssl: config.KAFKA_SSL,
  ...(sasl ? { sasl } : {}),
  logger,
});
await ensureTopics(kafka, {
  topics: [shipmentsTopic, paymentsTopic],
  consumerGroups: ['shipping'],
});
const producer = createEventProducer({ kafka, source: '/emporium/shipping', metrics, logger });
await producer.connect();
const relay = createOutboxRelay({
  collections: shipments.collection,
  publish: outboxPublisher(producer, [shipmentsTopic]),
  intervalMs: config.OUTBOX_INTERVAL_MS,
  metrics,
  logger,
});
const faults = createFaults(config.FAULTS, { metrics });
const consumer = createConsumerRunner({ kafka, groupId: 'shipping', metrics, logger }).on(
  paymentsTopic,
  faults.wrap('handler:payments.v1', paymentsHandler(shipments, config.SHIPPING_CARRIER)),
);

const { app } = buildApp(config, { shipments, metrics, logger, readiness, faults });
const { port } = await listen(app, config.PORT, lifecycle);
relay.start();
await consumer.start();
readiness.register('kafka-consumer', () =>
  consumer.isRunning() ? Promise.resolve() : Promise.reject(new Error('consumer stopped')),
);

lifecycle.onShutdown('consumers', 'payments consumer', () => consumer.stop());
lifecycle.onShutdown('workers', 'outbox relay', () => relay.stop());
lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'kafka producer', () => producer.disconnect());
lifecycle.onShutdown('clients', 'mongodb', () => mongo.close());
logger.info({ port }, 'shipping listening');
