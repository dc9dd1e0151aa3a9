// Wiring only: config → runtime and clients → app and workers → serve.
import { ordersTopic, paymentsTopic } from '@emporium/contracts';
import { createConsumerRunner, createServiceRuntime } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadPaymentsConfig } from './config.js';
import { ordersHandler } from './events/order-placed.handler.js';
import { simulatedPspGateway } from './gateways/psp.gateway.js';
import { paymentsRepository } from './repositories/payments.repository.js';

const config = loadPaymentsConfig(process.env);
const runtime = createServiceRuntime('payments', config);
const { logger, metrics, readiness, faults } = runtime;

const payments = paymentsRepository(runtime.mongo(config).db(config.MONGO_DATABASE));
await payments.ensureIndexes();

const kafka = await runtime.kafka(config, { produces: [paymentsTopic], consumes: [ordersTopic] });
runtime.relay({
  collections: payments.collection,
  producer: await runtime.producer(kafka),
  topics: [paymentsTopic],
  intervalMs: config.OUTBOX_INTERVAL_MS,
  leaderElection: config,
});
const psp = simulatedPspGateway({
  latencyMs: config.PSP_LATENCY_MS,
  declineRate: config.PSP_DECLINE_RATE,
});
runtime.consumer(
  createConsumerRunner({ kafka, groupId: config.KAFKA_GROUP_ID ?? 'payments', metrics, logger }).on(
    ordersTopic,
    faults.wrap('handler:orders.v1', ordersHandler(payments, psp, metrics)),
  ),
);

const { app } = buildApp(config, { payments, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);
