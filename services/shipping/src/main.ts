// Wiring only: config → runtime and clients → app and workers → serve.
import { paymentsTopic, shipmentsTopic } from '@emporium/contracts';
import { createConsumerRunner, createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadShippingConfig } from './config.js';
import { paymentsHandler } from './events/payment-authorized.handler.js';
import { shipmentsRepository } from './repositories/shipments.repository.js';

const config = loadShippingConfig(process.env);
const runtime = createServiceRuntime('shipping', config);
const { logger, metrics, readiness, faults } = runtime;

const shipments = shipmentsRepository(runtime.mongo(config).db(config.MONGO_DATABASE));
await shipments.ensureIndexes();

const kafka = await runtime.kafka(config, {
  produces: [shipmentsTopic],
  consumes: [paymentsTopic],
});
runtime.relay({
  collections: shipments.collection,
  producer: await runtime.producer(kafka),
  topics: [shipmentsTopic],
  intervalMs: config.OUTBOX_INTERVAL_MS,
  leaderElection: config,
});
runtime.consumer(
  createConsumerRunner({ kafka, groupId: config.KAFKA_GROUP_ID ?? 'shipping', metrics, logger }).on(
    paymentsTopic,
    faults.wrap('handler:payments.v1', paymentsHandler(shipments, config.SHIPPING_CARRIER)),
  ),
);

const { app } = buildApp(config, { shipments, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
