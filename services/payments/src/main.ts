// Wiring only: config → clients → app and workers → listen → shutdown hooks.
import { ordersTopic, paymentsTopic } from '@emporium/contracts';
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
import { loadPaymentsConfig } from './config.js';
import { ordersHandler } from './events/order-placed.handler.js';
import { simulatedPspGateway } from './gateways/psp.gateway.js';
import { paymentsRepository } from './repositories/payments.repository.js';

const config = loadPaymentsConfig(process.env);
const logger = createLogger({
  service: 'payments',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'payments' });
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
  appName: 'payments',
  retryWrites: config.MONGO_RETRY_WRITES,
  ...(config.MONGO_TLS_CA_FILE ? { tlsCaFile: config.MONGO_TLS_CA_FILE } : {}),
});
const payments = paymentsRepository(mongo.db(config.MONGO_DATABASE));
await payments.ensureIndexes();
readiness.register('mongodb', () => pingMongo(mongo));

const sasl = kafkaSasl(config);
const kafka = createKafka({
  clientId: 'payments',
  brokers: config.KAFKA_BROKERS,
  ssl: config.KAFKA_SSL,
  ...(sasl ? { sasl } : {}),
  logger,
});
await ensureTopics(kafka, {
  topics: [paymentsTopic, ordersTopic],
  consumerGroups: ['payments'],
});
const producer = createEventProducer({ kafka, source: '/emporium/payments', metrics, logger });
await producer.connect();
const relay = createOutboxRelay({
  collections: payments.collection,
  publish: outboxPublisher(producer, [paymentsTopic]),
  intervalMs: config.OUTBOX_INTERVAL_MS,
  metrics,
  logger,
});
const psp = simulatedPspGateway({
  latencyMs: config.PSP_LATENCY_MS,
  declineRate: config.PSP_DECLINE_RATE,
});
const faults = createFaults(config.FAULTS, { metrics });
const consumer = createConsumerRunner({ kafka, groupId: 'payments', metrics, logger }).on(
  ordersTopic,
  faults.wrap('handler:orders.v1', ordersHandler(payments, psp, metrics)),
);

const { app } = buildApp(config, { payments, metrics, logger, readiness, faults });
const { port } = await listen(app, config.PORT, lifecycle);
relay.start();
await consumer.start();
readiness.register('kafka-consumer', () =>
  consumer.isRunning() ? Promise.resolve() : Promise.reject(new Error('consumer stopped')),
);

lifecycle.onShutdown('consumers', 'orders consumer', () => consumer.stop());
lifecycle.onShutdown('workers', 'outbox relay', () => relay.stop());
lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'kafka producer', () => producer.disconnect());
lifecycle.onShutdown('clients', 'mongodb', () => mongo.close());
logger.info({ port }, 'payments listening');
