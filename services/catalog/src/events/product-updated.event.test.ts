import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { catalogTopic, ProductUpdated } from '@emporium/contracts';
import { eventually, freePort, serviceMain } from '@emporium/harness';
import {
  startEventsFixture,
  startTokenIssuer,
  type EventsFixture,
  type EventWatcher,
  type WatchedEvent,
} from '@emporium/platform/testing';
import { createProduct, reviseProduct } from '../domain/product.js';
import { seedProducts } from '../domain/seed-catalogue.js';
import {
  productsRepository,
  type ProductsRepository,
} from '../repositories/products.repository.js';

describe('catalog events', () => {
  let fx: EventsFixture;
  let products: ProductsRepository;
  /** What inventory sees: ProductUpdated on catalog.v1, keyed by product id. */
  let catalog: EventWatcher;
  const receivedFor = (productId: string): WatchedEvent[] =>
    catalog.filter((r) => ProductUpdated.is(r.event) && r.data.productId === productId);

  before(async () => {
    fx = await startEventsFixture({
      service: 'catalog',
      produces: [catalogTopic],
      source: '/emporium/catalog',
    });
    products = productsRepository(fx.db);
    await products.ensureIndexes();
    fx.relay({
      collections: products.collection,
      // As main.ts does: the relay's marks and the product updates never overlap on FerretDB.
      mutex: products.mutex,
      mutexKeyField: 'id',
    });
    catalog = await fx.watch(catalogTopic);
  });

  afterEach(() => {
    const invalid = [
      ...catalog.invalid,
      ...catalog
        .filter((r) => !ProductUpdated.is(r.event))
        .map((r) => `${r.event.type} ${r.event.id}`),
    ];
    assert.deepEqual(invalid, [], 'every event on catalog.v1 is a valid ProductUpdated');
  });

  after(() => fx.stop());

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
    const replicas = productsRepository(fx.client.db('catalog_seed_race_test'));
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
    const issuer = await startTokenIssuer();
    const child = spawn(process.execPath, serviceMain('catalog').args, {
      env: {
        ...issuer.env,
        PATH: process.env.PATH,
        OTEL_SERVICE_NAME: 'catalog',
        TELEMETRY_ENABLED: 'false',
        PORT: String(port),
        KAFKA_BROKERS: fx.kafkaServer.brokers.join(','),
        MONGO_URL: fx.mongoServer.url,
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
      await issuer.stop();
    }
    assert.equal(await exited, 0, `${stdout}\n${stderr}`);
  });
});
