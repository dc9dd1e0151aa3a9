import assert from 'node:assert/strict';
import { startMongo, type MongoServer } from '@emporium/harness';
import { MongoClient, ObjectId } from 'mongodb';
import { createProduct, reviseProduct, type Product } from '../domain/product.js';
import { seedProducts } from '../domain/seed-catalogue.js';
import { productsRepository, type ProductsRepository } from './products.repository.js';

describe('products repository', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  let products: ProductsRepository;

  const draft = {
    sku: 'MUG-KEY-001',
    name: 'Keyed Mug',
    description: 'A mug stored under its own id.',
    priceMinor: 1500,
    currency: 'EUR',
    categories: ['mugs'],
    images: ['/images/MUG-KEY-001.jpg'],
  };

  before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
    products = productsRepository(client.db('catalog_repository_test'));
    await products.ensureIndexes();
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  it('stores a product under `_id` = its id and reads and updates it by `_id`', async () => {
    const product = createProduct(draft, new Date('2026-11-27T10:00:00Z'));
    assert.equal(await products.create(product), true);
    const stored = await products.collection.findOne({ _id: product.id });
    assert.equal(stored?.id, product.id);
    assert.equal(stored.version, 0);
    assert.deepEqual(await products.findById(product.id), product);

    const changes = { ...draft, priceMinor: 1700 };
    const outcome = await products.update(product.id, (current) =>
      reviseProduct(current, changes, new Date('2026-11-27T11:00:00Z')),
    );
    assert.equal(outcome.kind, 'revised');
    const updated = await products.collection.findOne({ _id: product.id });
    assert.equal(updated?.priceMinor, 1700);
    assert.equal(updated.version, 1);
    assert.equal(updated.outboxPending, 2);
    assert.equal(await products.collection.countDocuments({ id: product.id }), 1);
  });

  it('refuses a second product with the same id by `_id`, and one with the same SKU', async () => {
    const first = createProduct({ ...draft, sku: 'MUG-KEY-002' }, new Date());
    assert.equal(await products.create(first), true);
    const sameId = createProduct({ ...draft, sku: 'MUG-KEY-003' }, new Date(), first.id);
    assert.equal(await products.create(sameId), false);
    const sameSku = createProduct({ ...draft, sku: 'MUG-KEY-002' }, new Date());
    assert.equal(await products.create(sameSku), false);
    assert.equal(await products.collection.countDocuments({ id: first.id }), 1);
    assert.equal(await products.findById(sameSku.id), null);
  });

  it('seeds each product under `_id` = its id', async () => {
    const seeding = productsRepository(client.db('catalog_repository_seed_test'));
    await seeding.ensureIndexes();
    const seeded = seedProducts(new Date());
    assert.equal(await seeding.seedIfEmpty(seeded), seeded.length);
    const ids = (await seeding.collection.find({}, { projection: { _id: 1, id: 1 } }).toArray())
      .map((doc) => [doc._id, doc.id])
      .filter(([key, id]) => key !== id);
    assert.deepEqual(ids, []);
  });

  it('a product stored before `_id` was its id is listed but not found by id, and nothing fails', async () => {
    const db = client.db('catalog_repository_legacy_test');
    const old: Product = createProduct({ ...draft, sku: 'MUG-OLD-001' }, new Date());
    // As an earlier version left it: an ObjectId `_id`.
    await db.collection('products').insertOne({ _id: new ObjectId(), ...old, version: 0 });
    const legacy = productsRepository(db);
    await legacy.ensureIndexes();
    assert.equal(await legacy.findById(old.id), null);
    const outcome = await legacy.update(old.id, (current) =>
      reviseProduct(current, { ...draft, priceMinor: 1 }, new Date()),
    );
    assert.deepEqual(outcome, { kind: 'not-found' });
    const page = await legacy.search({ limit: 10, offset: 0 });
    assert.deepEqual(page, { items: [old], total: 1 });
    assert.equal(await legacy.seedIfEmpty(seedProducts(new Date())), 0);
  });
});
