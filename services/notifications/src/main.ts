// Wiring only: config → runtime and clients → app and workers → serve.
import { ordersTopic, paymentsTopic, shipmentsTopic } from '@emporium/contracts';
import { createConsumerRunner, createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadNotificationsConfig } from './config.js';
import { notificationHandler } from './events/notification.handler.js';
import { notificationsRepository } from './repositories/notifications.repository.js';

const config = loadNotificationsConfig(process.env);
const runtime = createServiceRuntime('notifications', config);
const { logger, metrics, readiness, faults } = runtime;

const notifications = notificationsRepository(runtime.mongo(config).db(config.MONGO_DATABASE));
await notifications.ensureIndexes();

// Notifications only consumes; it produces no events (dead letters aside).
const topics = [ordersTopic, paymentsTopic, shipmentsTopic] as const;
const kafka = await runtime.kafka(config, { consumes: topics });
const handler = notificationHandler(notifications, metrics);
runtime.consumer(
  createConsumerRunner({
    kafka,
    groupId: config.KAFKA_GROUP_ID ?? 'notifications',
    metrics,
    logger,
  })
    .on(ordersTopic, faults.wrap('handler:orders.v1', handler))
    .on(paymentsTopic, faults.wrap('handler:payments.v1', handler))
    .on(shipmentsTopic, faults.wrap('handler:shipments.v1', handler)),
);

const { app } = buildApp(config, { notifications, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
