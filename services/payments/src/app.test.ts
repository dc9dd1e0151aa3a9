import assert from 'node:assert/strict';
import { assertValidOpenApi, runNodeScript, startMongo, type MongoServer } from '@emporium/harness';
import { createMetrics, type HttpApp } from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import { MongoClient, ObjectId } from 'mongodb';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import { settle, startPayment, type Payment } from './domain/payment.js';
import { paymentsRepository, type PaymentsRepository } from './repositories/payments.repository.js';

describe('payments HTTP API', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  let payments: PaymentsRepository;
  let http: HttpApp;
  let issuer: TokenIssuer;
  /** An admin's `Authorization`: what requests that are not about who calls carry. */
  let adminBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin, who may act for anyone. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);
  const order = { orderId: 'o-api-1', userId: 'u-1', amountMinor: 2500, currency: 'EUR' };
  const pending = startPayment(order, new Date());
  const payment = settle(pending, { approved: true });

  /** Stores a payment as the handler does: PENDING first, then its outcome. */
  const record = async (repo: PaymentsRepository, settled: Payment): Promise<boolean> => {
    const { status: _settled, reason: _reason, ...rest } = settled;
    const claimed = await repo.claim({ ...rest, status: 'PENDING' });
    return claimed.paymentId === settled.paymentId && (await repo.settle(settled));
  };

  before(async () => {
    mongo = await startMongo();
    issuer = await startTokenIssuer();
    adminBearer = await as('u-admin', ['admin']);
    client = new MongoClient(mongo.url);
    payments = paymentsRepository(client.db('payments_api_test'));
    await payments.ensureIndexes();
    const config = configSchema.parse({
      ...issuer.env,
      KAFKA_BROKERS: '127.0.0.1:1',
      MONGO_URL: mongo.url,
    });
    http = buildApp(config, {
      payments,
      metrics: createMetrics({ service: 'payments', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    assert.equal(await record(payments, payment), true);
  });
  after(async () => {
    await client.close();
    await issuer.stop();
    await mongo.stop();
  });

  it('returns the payment of an order, without its outbox', async () => {
    const response = await api().get('/payments/o-api-1');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, payment);
  });

  it('returns a declined payment with its reason', async () => {
    const declined = settle(startPayment({ ...order, orderId: 'o-api-2' }, new Date()), {
      approved: false,
      reason: 'card expired',
    });
    assert.equal(await record(payments, declined), true);
    const response = await api().get('/payments/o-api-2');
    assert.equal(response.status, 200);
    assert.equal((response.body as { status: string }).status, 'DECLINED');
    assert.equal((response.body as { reason: string }).reason, 'card expired');
  });

  it('a second payment of the same order is refused by its `_id`', async () => {
    const again = startPayment(order, new Date());
    // The claim answers the stored payment instead of writing a second one…
    assert.equal((await payments.claim(again)).paymentId, payment.paymentId);
    // …and an outcome for a payment no longer PENDING writes nothing.
    assert.equal(await payments.settle(settle(again, { approved: false, reason: 'x' })), false);
    assert.equal(await payments.collection.countDocuments({ orderId: 'o-api-1' }), 1);
    assert.equal((await payments.findByOrderId('o-api-1'))?.status, 'AUTHORIZED');
  });

  it('stores the payment under `_id` = order id, which alone refuses a second one', async () => {
    const stored = await payments.collection.findOne({ _id: 'o-api-1' });
    assert.equal(stored?.orderId, 'o-api-1');
    assert.equal(stored.paymentId, payment.paymentId);
    // A database without any secondary index: only `_id` can refuse the duplicate.
    const bare = paymentsRepository(client.db('payments_id_only_test'));
    const first = settle(startPayment({ ...order, orderId: 'o-id-1' }, new Date()), {
      approved: true,
    });
    const again = settle(startPayment({ ...order, orderId: 'o-id-1' }, new Date()), {
      approved: true,
    });
    assert.equal(await record(bare, first), true);
    assert.equal(await record(bare, again), false);
    assert.equal(await bare.collection.countDocuments({ orderId: 'o-id-1' }), 1);
    assert.equal((await bare.findByOrderId('o-id-1'))?.paymentId, first.paymentId);
  });

  it('a payment stored before `_id` was the order id is not found, and nothing fails', async () => {
    // As an earlier version left it: an ObjectId `_id` and the unique order index.
    const db = client.db('payments_legacy_test');
    await db.collection('payments').createIndex({ orderId: 1 }, { unique: true });
    await db.collection('payments').insertOne({ _id: new ObjectId(), ...payment });
    const legacy = paymentsRepository(db);
    await legacy.ensureIndexes();
    assert.equal(await legacy.findByOrderId(payment.orderId), null);
    // The old index still refuses a second payment of that order.
    const again = startPayment(order, new Date());
    assert.equal((await legacy.claim(again)).paymentId, payment.paymentId);
  });

  it('shows a customer their own payment and an admin anyone’s', async () => {
    const own = await request(http.app)
      .get('/payments/o-api-1')
      .set('authorization', await as('u-1'));
    assert.equal(own.status, 200);
    const admin = await request(http.app)
      .get('/payments/o-api-1')
      .set('authorization', await as('u-staff', ['support', 'admin']));
    assert.equal(admin.status, 200);
  });

  it('404 problem for an order without a payment, or another customer’s', async () => {
    for (const [path, user] of [
      ['/payments/o-none', undefined],
      ['/payments/o-api-1', 'u-2'],
    ] as const) {
      const response = await request(http.app)
        .get(path)
        .set('authorization', user ? await as(user) : adminBearer);
      assert.equal(response.status, 404);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      assert.equal((response.body as { code: string }).code, 'PAYMENT_NOT_FOUND');
    }
  });

  it('404 while the provider has not answered: a PENDING payment is not served', async () => {
    const waiting = startPayment({ ...order, orderId: 'o-api-pending' }, new Date());
    assert.equal((await payments.claim(waiting)).status, 'PENDING');
    const response = await api().get('/payments/o-api-pending');
    assert.equal(response.status, 404);
    assert.equal((await payments.find('o-api-pending'))?.paymentId, waiting.paymentId);
  });

  it('400 with the field path for a malformed order id', async () => {
    const response = await api().get('/payments/not%20an%20id!');
    assert.equal(response.status, 400);
    const body = response.body as { code: string; errors: { path: string }[] };
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.equal(body.errors[0]?.path, 'params.orderId');
  });

  it('401 without a token or with forged identity headers, 403 for a service', async () => {
    const forged = { 'x-user-id': 'u-1', 'x-user-roles': 'admin' };
    const service = `Bearer ${await issuer.serviceToken('orders', 'payments')}`;
    const anonymous = await request(http.app).get('/payments/o-api-1').set(forged);
    assert.equal(anonymous.status, 401);
    assert.equal((anonymous.body as { code: string }).code, 'TOKEN_REQUIRED');
    const fromService = await request(http.app)
      .get('/payments/o-api-1')
      .set('authorization', service);
    assert.equal(fromService.status, 403);
    assert.equal((fromService.body as { code: string }).code, 'CALLER_NOT_ALLOWED');
  });

  it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones tested above', async () => {
    const response = await api().get('/openapi.json');
    assert.equal(response.status, 200);
    await assertValidOpenApi(response.body);
    const get = (
      response.body as { paths: Record<string, { get: { responses: Record<string, unknown> } }> }
    ).paths['/payments/{orderId}']?.get;
    const clientErrors = Object.keys(get?.responses ?? {}).filter((status) =>
      status.startsWith('4'),
    );
    assert.deepEqual(clientErrors.sort(), ['400', '401', '403', '404']);
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, {
      PORT: 'x',
      MONGO_URL: 'http://db',
      PSP_DECLINE_RATE: '1.5',
      PSP_LATENCY_MS: 'slow',
    });
    assert.equal(code, 78);
    for (const variable of [
      'PORT',
      'MONGO_URL',
      'KAFKA_BROKERS',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'PSP_DECLINE_RATE',
      'PSP_LATENCY_MS',
    ]) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });
});
