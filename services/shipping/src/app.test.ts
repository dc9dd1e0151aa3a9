import assert from 'node:assert/strict';
import { assertValidOpenApi, runNodeScript, startMongo, type MongoServer } from '@emporium/harness';
import { createMetrics, type HttpApp } from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
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
  let issuer: TokenIssuer;
  /** An admin's `Authorization`: what requests that are not about who calls carry. */
  let adminBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin, who may act for anyone. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);
  /** Shipping's configuration, trusting the test issuer. */
  const configFor = () =>
    configSchema.parse({ ...issuer.env, KAFKA_BROKERS: '127.0.0.1:1', MONGO_URL: mongo.url });

  before(async () => {
    mongo = await startMongo();
    issuer = await startTokenIssuer();
    adminBearer = await as('u-admin', ['admin']);
    client = new MongoClient(mongo.url);
    shipments = shipmentsRepository(client.db('shipping_api_test'));
    await shipments.ensureIndexes();
    http = buildApp(configFor(), {
      shipments,
      metrics: createMetrics({ service: 'shipping', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
  });
  after(async () => {
    await client.close();
    await issuer.stop();
    await mongo.stop();
  });

  it('returns the shipment of an order', async () => {
    const shipment = dispatch({ orderId: 'o-api-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    assert.equal(await shipments.createDispatched(shipment), true);
    const response = await api().get('/shipments/o-api-1');
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
    const app = buildApp(configFor(), {
      shipments: legacy,
      metrics: createMetrics({ service: 'shipping', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
    }).app;
    assert.equal((await api(app).get('/shipments/o-old-1')).status, 404);
    // The old index still refuses a second shipment of that order.
    const again = dispatch({ orderId: 'o-old-1', userId: 'u-1' }, 'EMPORIUM-POST', new Date());
    assert.equal(await legacy.createDispatched(again), false);
  });

  it('404 problem for an order without a shipment', async () => {
    const response = await api().get('/shipments/o-none');
    assert.equal(response.status, 404);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    assert.equal((response.body as { code: string }).code, 'SHIPMENT_NOT_FOUND');
  });

  it("404 for another user's shipment, as for no shipment; its user and an admin see it", async () => {
    const shipment = dispatch({ orderId: 'o-of-b', userId: 'u-b' }, 'EMPORIUM-POST', new Date());
    assert.equal(await shipments.createDispatched(shipment), true);
    const peek = await request(http.app)
      .get('/shipments/o-of-b')
      .set('authorization', await as('u-a'));
    assert.equal(peek.status, 404);
    assert.match(String(peek.headers['content-type']), /application\/problem\+json/);
    assert.equal((peek.body as { code: string }).code, 'SHIPMENT_NOT_FOUND');
    // The same answer as for an order without a shipment: nothing tells the two apart.
    const none = await request(http.app)
      .get('/shipments/o-none-of-a')
      .set('authorization', await as('u-a'));
    assert.deepEqual(
      { ...(peek.body as Record<string, unknown>), detail: null, instance: null },
      { ...(none.body as Record<string, unknown>), detail: null, instance: null },
    );
    const own = await request(http.app)
      .get('/shipments/o-of-b')
      .set('authorization', await as('u-b'));
    assert.equal(own.status, 200);
    assert.deepEqual(own.body, shipment);
    const admin = await request(http.app)
      .get('/shipments/o-of-b')
      .set('authorization', await as('u-support', ['support', 'admin']));
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.body, shipment);
  });

  it('401 without a token or with forged identity headers, 403 for a service', async () => {
    const forged = { 'x-user-id': 'u-1', 'x-user-roles': 'admin' };
    const service = `Bearer ${await issuer.serviceToken('orders', 'shipping')}`;
    const anonymous = await request(http.app).get('/shipments/o-api-1').set(forged);
    assert.equal(anonymous.status, 401);
    assert.equal((anonymous.body as { code: string }).code, 'TOKEN_REQUIRED');
    const fromService = await request(http.app)
      .get('/shipments/o-api-1')
      .set('authorization', service);
    assert.equal(fromService.status, 403);
    assert.equal((fromService.body as { code: string }).code, 'CALLER_NOT_ALLOWED');
  });

  it('400 with the field path for a malformed order id', async () => {
    const response = await api().get('/shipments/not%20an%20id!');
    assert.equal(response.status, 400);
    const body = response.body as { code: string; errors: { path: string }[] };
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.equal(body.errors[0]?.path, 'params.orderId');
  });

  it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones tested above', async () => {
    const response = await api().get('/openapi.json');
    assert.equal(response.status, 200);
    await assertValidOpenApi(response.body);
    const get = (
      response.body as { paths: Record<string, { get: { responses: Record<string, unknown> } }> }
    ).paths['/shipments/{orderId}']?.get;
    const clientErrors = Object.keys(get?.responses ?? {}).filter((status) =>
      status.startsWith('4'),
    );
    assert.deepEqual(clientErrors.sort(), ['400', '401', '403', '404']);
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, { PORT: 'x', MONGO_URL: 'http://db' });
    assert.equal(code, 78);
    for (const variable of [
      'PORT',
      'MONGO_URL',
      'KAFKA_BROKERS',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
    ]) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });
});
