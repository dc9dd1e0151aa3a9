// Wiring only: config → clients → app and workers → listen → shutdown hooks.
import { ordersTopic, paymentsTopic, shipmentsTopic } from '@emporium/contracts';
import {
  createConsumerRunner,
  createFaults,
  createKafka,
  createLifecycle,
  createLogger,
  createMetrics,
  createMongoClient,
  createReadiness,
  ensureTopics,
  getTelemetry,
  kafkaSasl,
  listen,
  pingMongo,
} from '@emporium/platform';
import { buildApp } from './app.js';
import { loadNotificationsConfig } from './config.js';
import { notificationHandler } from './events/notification.handler.js';
import { notificationsRepository } from './repositories/notifications.repository.js';

const config = loadNotificationsConfig(process.env);
const logger = createLogger({
  service: 'notifications',
  version: config.SERVICE_VERSION,
  level: config.LOG_LEVEL,
});
const metrics = createMetrics({ service: 'notifications' });
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
  appName: 'notifications',
  retryWrites: config.MONGO_RETRY_WRITES,
  ...(config.MONGO_TLS_CA_FILE ? { tlsCaFile: config.MONGO_TLS_CA_FILE } : {}),
});
const notifications = notificationsRepository(mongo.db(config.MONGO_DATABASE));
await notifications.ensureIndexes();
readiness.register('mongodb', () => pingMongo(mongo));

const sasl = kafkaSasl(config);
const kafka = createKafka({
  clientId: 'notifications',
  brokers: config.KAFKA_BROKERS,
  ssl: config.KAFKA_SSL,
  ...(sasl ? { sasl } : {}),
  logger,
});
// Notifications only consumes; it produces no events (dead letters aside).
await ensureTopics(kafka, {
  topics: [ordersTopic, paymentsTopic, shipmentsTopic],
  consumerGroups: ['notifications'],
});
const faults = createFaults(config.FAULTS, { metrics });
const consumer = createConsumerRunner({ kafka, groupId: 'notifications', metrics, logger })
  .on(ordersTopic, faults.wrap('handler:orders.v1', notificationHandler(notifications, metrics)))
  .on(
    paymentsTopic,
    faults.wrap('handler:payments.v1', notificationHandler(notifications, metrics)),
  )
  .on(
    shipmentsTopic,
    faults.wrap('handler:shipments.v1', notificationHandler(notifications, metrics)),
  );

const { app } = buildApp(config, { notifications, metrics, logger, readiness, faults });
const { port } = await listen(app, config.PORT, lifecycle);
await consumer.start();
readiness.register('kafka-consumer', () =>
  consumer.isRunning() ? Promise.resolve() : Promise.reject(new Error('consumer stopped')),
);

lifecycle.onShutdown('consumers', 'events consumer', () => consumer.stop());
lifecycle.onShutdown('telemetry', 'opentelemetry', () => getTelemetry().shutdown());
lifecycle.onShutdown('clients', 'mongodb', () => mongo.close());
logger.info({ port }, 'notifications listening');
