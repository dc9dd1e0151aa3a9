import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { catalogTopic, ProductUpdated } from '@emporium/contracts';
import {
  eventually,
  freePort,
  serviceMain,
  startKafka,
  startMongo,
  type KafkaServer,
  type MongoServer,
} from '@emporium/harness';
import {
  createEventProducer,
  createKafka,
  createMetrics,
  createOutboxRelay,
  decodeCloudEvent,
  ensureTopics,
  outboxPublisher,
  type CloudEvent,
  type EventProducer,
  type OutboxRelay,
} from '@emporium/platform';
import type { Kafka } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { createProduct, reviseProduct } from '../domain/product.js';
import { seedProducts } from '../domain/seed-catalogue.js';
import {
  productsRepository,
  type ProductsRepository,
} from '../repositories/products.repository.js';
import type { ProductUpdatedData } from './product-updated.event.js';

/** A ProductUpdated as another service receives it from `catalog.v1`. */
interface Received {
  key: string | undefined;
  event: CloudEvent<unknown>;
  data: ProductUpdatedData;
}

describe('catalog events', () => {
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({ service: 'catalog', runtimeMetrics: false });
  let kafkaServer: KafkaServer;
  let mongo: MongoServer;
  let client: MongoClient;
  let kafka: Kafka;
  let producer: EventProducer;
  let products: ProductsRepository;
  let relay: OutboxRelay;
  const received: Received[] = [];
  const invalid: string[] = [];
  const watcher = { stop: (): Promise<void> => Promise.resolve() };
  const receivedFor = (productId: string): Received[] =>
    received.filter((r) => r.data.productId === productId);

  before(async () => {
    [kafkaServer, mongo] = await Promise.all([startKafka(), startMongo()]);
    client = new MongoClient(mongo.url);
    products = productsRepository(client.db('catalog_events_test'));
    await products.ensureIndexes();
    kafka = createKafka({ clientId: 'catalog-test', brokers: kafkaServer.brokers, logger });
    await ensureTopics(kafka, { topics: [catalogTopic] });
    producer = createEventProducer({ kafka, source: '/emporium/catalog', metrics, logger });
    await producer.connect();
    relay = createOutboxRelay({
      collections: products.collection,
      publish: outboxPublisher(producer, [catalogTopic]),
      intervalMs: 100,
      // As main.ts does: the relay's marks and the product updates never overlap on FerretDB.
      mutex: products.mutex,
      mutexKeyField: 'id',
      metrics,
      logger,
    });
    relay.start();
    // What inventory sees: ProductUpdated on catalog.v1, keyed by product id.
    const consumer = kafka.consumer({ groupId: `watcher-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: catalogTopic.name, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const event = decodeCloudEvent(message);
        if (!ProductUpdated.is(event)) invalid.push(`${event.type} ${event.id}`);
        else received.push({ key: message.key?.toString(), event, data: event.data });
        return Promise.resolve();
      },
    });
    watcher.stop = () => consumer.disconnect();
  });

  afterEach(() => {
    assert.deepEqual(invalid, [], 'every event on catalog.v1 is a valid ProductUpdated');
  });

  after(async () => {
    await watcher.stop();
    await relay.stop();
    await producer.disconnect();
    await client.close();
    await Promise.all([kafkaServer.stop(), mongo.stop()]);
  });

  it('publishes a ProductUpdated for every seeded product through the outbox, once', async () => {
    const seeded = seedProducts(new Date());
    assert.equal(await products.seedIfEmpty(seeded), seeded.length);
    await eventually('every seeded product announced', () =>
      Promise.resolve(seeded.every((p) => receivedFor(p.id).length > 0) ? true : undefined),
    );
    for (const product of seeded) {
      const [only, ...more] = receivedFor(product.id);
      assert.equal(more.length, 0, product.sku);
      assert.equal(only?.key, product.id);
      assert.equal(only.data.sku, product.sku);
      assert.equal(only.data.priceMinor, product.priceMinor);
    }
    await eventually('the outboxes drained', async () =>
      (await products.collection.countDocuments({ outboxPending: { $gt: 0 } })) === 0
        ? true
        : undefined,
    );
    // A restart seeds nothing and announces nothing: the collection is not empty any more.
    assert.equal(await products.seedIfEmpty(seedProducts(new Date())), 0);
    assert.equal(await products.collection.countDocuments({}), seeded.length);
    assert.equal(await products.collection.countDocuments({ outboxPending: { $gt: 0 } }), 0);
  });

  it('publishes a created and then an updated product in order, under the product id', async () => {
    const created = createProduct(
      {
        sku: 'CDL-EVT-001',
        name: 'Beeswax Pillar Candle',
        description: 'Hand-rolled.',
        priceMinor: 1800,
        currency: 'EUR',
        categories: ['candles'],
        images: [],
      },
      new Date(),
    );
    assert.equal(await products.create(created), true);
    assert.equal(await products.create({ ...created, id: randomUUID() }), false, 'SKU taken');
    const { sku: _sku, ...changes } = { ...created, priceMinor: 2100 };
    const outcome = await products.update(created.id, (current) =>
      reviseProduct(current, changes, new Date(Date.now() + 1)),
    );
    assert.equal(outcome.kind, 'revised');
    const events = await eventually('both events', () =>
      Promise.resolve(receivedFor(created.id).length >= 2 ? receivedFor(created.id) : undefined),
    );
    assert.deepEqual(
      events.map((r) => r.data.priceMinor),
      [1800, 2100],
    );
    assert.ok(events.every((r) => r.key === created.id));
    assert.notEqual(events[0]?.event.id, events[1]?.event.id);
  });

  it('replicas seeding an empty catalogue at once insert each product once', async () => {
    const replicas = productsRepository(client.db('catalog_seed_race_test'));
    await replicas.ensureIndexes();
    const now = new Date();
    const inserted = await Promise.all([
      replicas.seedIfEmpty(seedProducts(now)),
      replicas.seedIfEmpty(seedProducts(now)),
    ]);
    const total = seedProducts(now).length;
    assert.equal(await replicas.collection.countDocuments({}), total);
    assert.ok(inserted[0] + inserted[1] >= total, String(inserted));
  });

  it('main.ts starts with the documented variables, seeds, serves, and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, serviceMain('catalog').args, {
      env: {
        PATH: process.env.PATH,
        OTEL_SERVICE_NAME: 'catalog',
        TELEMETRY_ENABLED: 'false',
        PORT: String(port),
        KAFKA_BROKERS: kafkaServer.brokers.join(','),
        MONGO_URL: mongo.url,
        MONGO_DATABASE: 'catalog_main_test',
        // Nothing listens there: catalog must start and serve without its cache.
        REDIS_URL: `redis://127.0.0.1:${String(await freePort())}`,
        OUTBOX_INTERVAL_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(
        'catalog listening',
        () => Promise.resolve(stdout.includes('"catalog listening"') ? true : undefined),
        60_000,
      );
      const listening = stdout.split('\n').filter((line) => line.includes('listening'));
      assert.equal(listening.length, 1, stdout);
      const response = await fetch(`http://127.0.0.1:${String(port)}/products?limit=1`);
      assert.equal(response.status, 200);
      const page = (await response.json()) as { total: number; items: { id: string }[] };
      assert.equal(page.total, seedProducts(new Date()).length);
      const ready = await fetch(`http://127.0.0.1:${String(port)}/readyz`);
      assert.equal(ready.status, 200, 'Redis is not a readiness dependency');
      const first = page.items[0];
      assert.ok(first);
      // Its relay announced the seeded products too.
      await eventually('main relayed its seed', () =>
        Promise.resolve(receivedFor(first.id).length > 0 ? true : undefined),
      );
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `${stdout}\n${stderr}`);
  });
});
