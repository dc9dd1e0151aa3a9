import assert from 'node:assert/strict';
import { assertValidOpenApi, runNodeScript, startMongo, type MongoServer } from '@emporium/harness';
import { createMetrics, type HttpApp } from '@emporium/platform';
import { MongoClient, ObjectId } from 'mongodb';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import { dispatch } from './domain/shipment.js';
import {
  shipmentsRepository,
  type ShipmentsRepository,
} from './repositories/shipments.repository.js';

describe('shipping HTTP API', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  let shipments: ShipmentsRepository;
  let http: HttpApp;

  before(async () => {
    mongo = await startMongo();
    client = new MongoClient(mongo.url);
    shipments = shipmentsRepository(client.db('shipping_api_test'));
    await shipments.ensureIndexes();
    const config = configSchema.parse({ KAFKA_BROKERS: '127.0.0.1:1', MONGO_URL: mongo.url });
    http = buildApp(config, {
      shipments,
      metrics: createMetrics({ service: 'shipping', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
  });
  after(async () => {
    await client.close();
    await mongo.stop();
  });

  it('returns the shipment of an order', async () => {
    const shipment = dispatch({ orderId: 'o-api-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    assert.equal(await shipments.createDispatched(shipment), true);
    const response = await request(http.app).get('/shipments/o-api-1');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, shipment);
  });

  it('a second shipment of the same order is refused by its `_id`', async () => {
    const again = dispatch({ orderId: 'o-api-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    assert.equal(await shipments.createDispatched(again), false);
    assert.equal(await shipments.collection.countDocuments({ orderId: 'o-api-1' }), 1);
  });

  it('stores the shipment under `_id` = order id, which alone refuses a second one', async () => {
    const stored = await shipments.collection.findOne({ _id: 'o-api-1' });
    assert.equal(stored?.orderId, 'o-api-1');
    // A database without any secondary index: only `_id` can refuse the duplicate.
    const bare = shipmentsRepository(client.db('shipping_id_only_test'));
    const first = dispatch({ orderId: 'o-id-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    const again = dispatch({ orderId: 'o-id-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    assert.equal(await bare.createDispatched(first), true);
    assert.equal(await bare.createDispatched(again), false);
    assert.equal(await bare.collection.countDocuments({ orderId: 'o-id-1' }), 1);
    assert.equal((await bare.findByOrderId('o-id-1'))?.trackingId, first.trackingId);
  });

  it('a shipment stored before `_id` was the order id is a 404, and nothing fails', async () => {
    // As an earlier version left it: an ObjectId `_id` and the unique order index.
    const db = client.db('shipping_legacy_test');
    const old = dispatch({ orderId: 'o-old-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    await db.collection('shipments').createIndex({ orderId: 1 }, { unique: true });
    await db.collection('shipments').insertOne({ _id: new ObjectId(), ...old });
    const legacy = shipmentsRepository(db);
    await legacy.ensureIndexes();
    assert.equal(await legacy.findByOrderId('o-old-1'), null);
    const app = buildApp(
      configSchema.parse({ KAFKA_BROKERS: '127.0.0.1:1', MONGO_URL: mongo.url }),
      {
        shipments: legacy,
        metrics: createMetrics({ service: 'shipping', runtimeMetrics: false }),
        logger: pino({ level: 'silent' }),
      },
    ).app;
    assert.equal((await request(app).get('/shipments/o-old-1')).status, 404);
    // The old index still refuses a second shipment of that order.
    const again = dispatch({ orderId: 'o-old-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    assert.equal(await legacy.createDispatched(again), false);
  });

  it('404 problem for an order without a shipment', async () => {
    const response = await request(http.app).get('/shipments/o-none');
    assert.equal(response.status, 404);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    assert.equal((response.body as { code: string }).code, 'SHIPMENT_NOT_FOUND');
  });

  it('400 with the field path for a malformed order id', async () => {
    const response = await request(http.app).get('/shipments/not%20an%20id!');
    assert.equal(response.status, 400);
    const body = response.body as { code: string; errors: { path: string }[] };
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.equal(body.errors[0]?.path, 'params.orderId');
  });

  it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones tested above', async () => {
    const response = await request(http.app).get('/openapi.json');
    assert.equal(response.status, 200);
    await assertValidOpenApi(response.body);
    const get = (
      response.body as { paths: Record<string, { get: { responses: Record<string, unknown> } }> }
    ).paths['/shipments/{orderId}']?.get;
    const clientErrors = Object.keys(get?.responses ?? {}).filter((status) =>
      status.startsWith('4'),
    );
    assert.deepEqual(clientErrors.sort(), ['400', '404']);
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, { PORT: 'x', MONGO_URL: 'http://db' });
    assert.equal(code, 78);
    for (const variable of ['PORT', 'MONGO_URL', 'KAFKA_BROKERS']) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });
});
