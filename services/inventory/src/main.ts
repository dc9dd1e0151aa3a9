// Wiring only: config → runtime and clients → app and workers → serve.
import { catalogTopic, ordersTopic, shipmentsTopic } from '@emporium/contracts';
import { createConsumerRunner, createServiceRuntime, startLeadership } from '@emporium/platform';
import { buildApp } from './app.js';
import { loadInventoryConfig } from './config.js';
import { ordersHandler } from './events/orders.handler.js';
import { catalogHandler } from './events/product-updated.handler.js';
import { shipmentsHandler } from './events/shipment-dispatched.handler.js';
import { inventoryMetrics } from './inventory.metrics.js';
import { reservationsRepository } from './repositories/reservations.repository.js';
import { stockRepository } from './repositories/stock.repository.js';
import { createExpirySweeper } from './sweeper/expiry-sweeper.js';

const config = loadInventoryConfig(process.env);
const runtime = createServiceRuntime('inventory', config);
const { logger, metrics, readiness, faults, lifecycle } = runtime;

const db = runtime.mongo(config).db(config.MONGO_DATABASE);
const stock = stockRepository(db);
const reservations = reservationsRepository(db, stock, { ttlMs: config.RESERVATION_TTL_MS });
await stock.ensureIndexes();
await reservations.ensureIndexes();

// Inventory produces no events, so it needs no producer and no outbox relay.
const kafka = await runtime.kafka(config, {
  consumes: [catalogTopic, ordersTopic, shipmentsTopic],
});
const business = inventoryMetrics(metrics, stock);
runtime.consumer(
  createConsumerRunner({ kafka, groupId: config.KAFKA_GROUP_ID ?? 'inventory', metrics, logger })
    .on(
      catalogTopic,
      faults.wrap(
        'handler:catalog.v1',
        catalogHandler(stock, config.INVENTORY_INITIAL_STOCK, business),
      ),
    )
    .on(ordersTopic, faults.wrap('handler:orders.v1', ordersHandler(reservations, business)))
    .on(
      shipmentsTopic,
      faults.wrap('handler:shipments.v1', shipmentsHandler(reservations, business)),
    ),
);

const { app } = buildApp(config, { stock, reservations, metrics, logger, readiness, faults });
await runtime.serve(app, config.PORT);

// The expiry sweeper runs on the Lease holder only (on every replica it would race itself).
const sweeper = createExpirySweeper({
  reservations,
  intervalMs: config.RESERVATION_SWEEP_INTERVAL_MS,
  metrics: business,
  logger,
  // Checked before each reservation, so a replica past its renew deadline stops mid-sweep.
  isLeader: () => leadership.isLeader(),
});
const leadership = startLeadership(config, {
  logger,
  metrics,
  onStartedLeading: () => {
    sweeper.start();
  },
  onStoppedLeading: () => sweeper.stop(),
});
// One step: stop() runs onStoppedLeading (the sweeper finishes its reservation in hand) and
// only then releases the Lease, so the next leader never sweeps beside this one.
lifecycle.onShutdown('workers', 'reservation sweeper and lease', () => leadership.stop());
