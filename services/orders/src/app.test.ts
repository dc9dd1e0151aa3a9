import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertValidOpenApi,
  freePort,
  json,
  problem,
  runNodeScript,
  startHttpStub,
  startMongo,
  type HttpStub,
  type MongoServer,
  type StubCall,
} from '@emporium/harness';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMetrics,
  createUpstreamClient,
  serviceTokensFrom,
  type HttpApp,
  type Metrics,
} from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import { decodeJwt } from 'jose';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema, type Config } from './config.js';
import { orderIdFor } from './domain/order-id.js';
import { cartGateway } from './gateways/cart.gateway.js';
import { catalogGateway } from './gateways/catalog.gateway.js';
import { inventoryGateway } from './gateways/inventory.gateway.js';
import { ordersRepository, type OrdersRepository } from './repositories/orders.repository.js';

interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  categories: string[];
  images: string[];
  updatedAt: string;
}
interface Line {
  sku: string;
  quantity: number;
}

type Upstream = 'cart' | 'catalog' | 'inventory';

/** Cart, catalog and inventory as the contract describes them, with knobs for failures. */
class FakeUpstreams {
  readonly carts = new Map<string, Line[]>();
  readonly products = new Map<string, Product>();
  readonly stock = new Map<string, number>();
  readonly reservations = new Map<string, Line[]>();
  catalogDelayMs = 0;
  /** Inventory answers this many 503s before working again. */
  inventoryFailures = 0;
  /** Inventory answers a repeated order id with its stored lines whatever was asked (as before RESERVATION_MISMATCH). */
  inventoryIgnoresLines = false;
  cartDeleteFails = false;
  private stubs: Partial<Record<Upstream, HttpStub>> = {};

  async start(): Promise<void> {
    const cart = await startHttpStub({
      'GET /carts/:userId': ({ params: { userId } }, res) => {
        const lines = (this.carts.get(userId) ?? []).map((line) => ({
          ...line,
          name: `cart's stale name of ${line.sku}`,
          unitPriceMinor: 1, // stale on purpose: orders must price from catalog
        }));
        json(res, 200, {
          userId,
          lines,
          currency: 'EUR',
          totalMinor: lines.length,
          updatedAt: new Date().toISOString(),
        });
      },
      'DELETE /carts/:userId': ({ params: { userId } }, res) => {
        if (this.cartDeleteFails) {
          problem(res, 500, 'INTERNAL');
          return;
        }
        this.carts.delete(userId);
        res.writeHead(204).end();
      },
    });
    const catalog = await startHttpStub({
      'GET /products': async ({ query }, res) => {
        if (this.catalogDelayMs > 0) await sleep(this.catalogDelayMs);
        const skus = (query.get('skus') ?? '').split(',');
        const items = skus.flatMap((sku) => {
          const product = this.products.get(sku);
          return product ? [product] : [];
        });
        json(res, 200, {
          items,
          total: items.length,
          limit: Number(query.get('limit')),
          offset: 0,
        });
      },
    });
    const inventory = await startHttpStub({
      'POST /reservations': ({ body }, res) => {
        if (this.inventoryFailures > 0) {
          this.inventoryFailures -= 1;
          problem(res, 503, 'UNAVAILABLE');
          return;
        }
        const { orderId, lines } = body as { orderId: string; lines: Line[] };
        const existing = this.reservations.get(orderId);
        if (existing) {
          const same = (a: Line[], b: Line[]): boolean =>
            JSON.stringify(a.map((l) => [l.sku, l.quantity])) ===
            JSON.stringify(b.map((l) => [l.sku, l.quantity]));
          if (same(existing, lines) || this.inventoryIgnoresLines) {
            json(res, 200, { orderId, status: 'RESERVED', lines: existing });
          } else {
            problem(res, 409, 'RESERVATION_MISMATCH', { lines: existing });
          }
          return;
        }
        const short = lines
          .filter((line) => (this.stock.get(line.sku) ?? 0) < line.quantity)
          .map((line) => line.sku);
        if (short.length > 0) {
          problem(res, 409, 'INSUFFICIENT_STOCK', { skus: short });
          return;
        }
        for (const line of lines)
          this.stock.set(line.sku, (this.stock.get(line.sku) ?? 0) - line.quantity);
        this.reservations.set(orderId, lines);
        json(res, 201, { orderId, status: 'RESERVED', lines });
      },
    });
    this.stubs = { cart, catalog, inventory };
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.stubs).map((stub) => stub.stop()));
  }

  /** Where `upstream` listens, once started. */
  url(upstream: Upstream): string {
    return this.stubs[upstream]?.url ?? '';
  }

  /** The calls `upstream` received, with their headers. */
  rawCalls(upstream: Upstream): readonly StubCall[] {
    return this.stubs[upstream]?.calls ?? [];
  }

  /** The calls `upstream` received, as `POST /reservations` (with any query). */
  calls(upstream: Upstream): string[] {
    return (this.stubs[upstream]?.calls ?? []).map((call) => `${call.method} ${call.url}`);
  }

  product(sku: string, priceMinor: number, stock: number, currency = 'EUR'): void {
    this.products.set(sku, {
      id: `p-${sku}`,
      sku,
      name: `Product ${sku}`,
      description: '',
      priceMinor,
      currency,
      categories: [],
      images: [],
      updatedAt: new Date().toISOString(),
    });
    this.stock.set(sku, stock);
  }
}

describe('orders HTTP API', () => {
  const upstreams = new FakeUpstreams();
  const logger = pino({ level: 'silent' });
  let mongo: MongoServer;
  let client: MongoClient;
  let orders: OrdersRepository;
  let metrics: Metrics;
  let config: Config;
  let http: HttpApp;
  let issuer: TokenIssuer;
  /** Orders' own workload tokens, one file per audience, as a pod's projected volume. */
  let tokenDir: string;
  /** An admin's `Authorization`: what requests that are not about who calls carry. */
  let adminBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin, who may act for anyone. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);
  /** Every 4xx status this file provoked, per OpenAPI operation. */
  const exercised = new Map<string, Set<string>>();

  const record = (operation: string, status: number): void => {
    const set = exercised.get(operation) ?? new Set<string>();
    set.add(String(status));
    exercised.set(operation, set);
  };

  /** An app whose upstream URLs may be overridden (e.g. to a port nothing listens on). */
  const appWith = (overrides: Partial<Config> = {}, appMetrics?: Metrics): HttpApp => {
    const settings = { ...config, ...overrides };
    const upstream = (name: string, baseUrl: string) =>
      createUpstreamClient({
        name,
        baseUrl,
        timeoutMs: settings.UPSTREAM_TIMEOUT_MS,
        backoffMs: 10,
        tokens: serviceTokensFrom(tokenDir),
        metrics: appMetrics ?? metrics,
        logger,
      });
    return buildApp(settings, {
      orders,
      cart: cartGateway(upstream('cart', settings.UPSTREAM_CART_URL)),
      catalog: catalogGateway(upstream('catalog', settings.UPSTREAM_CATALOG_URL)),
      inventory: inventoryGateway(upstream('inventory', settings.UPSTREAM_INVENTORY_URL)),
      metrics: appMetrics ?? metrics,
      logger,
    });
  };

  const place = async (userId: string, app = http.app) => {
    const response = await request(app)
      .post('/orders')
      .set('authorization', await as(userId))
      .send({ userId });
    if (response.status >= 400 && response.status < 500) record('post /orders', response.status);
    return response;
  };

  before(async () => {
    mongo = await startMongo();
    await upstreams.start();
    issuer = await startTokenIssuer();
    adminBearer = await as('u-support', ['admin']);
    tokenDir = await mkdtemp(join(tmpdir(), 'orders-tokens-'));
    await issuer.writeServiceTokens(tokenDir, 'orders', ['inventory']);
    client = new MongoClient(mongo.url);
    orders = ordersRepository(client.db('orders_api_test'));
    await orders.ensureIndexes();
    config = configSchema.parse({
      ...issuer.env,
      KAFKA_BROKERS: '127.0.0.1:1',
      MONGO_URL: mongo.url,
      UPSTREAM_CART_URL: upstreams.url('cart'),
      UPSTREAM_CATALOG_URL: upstreams.url('catalog'),
      UPSTREAM_INVENTORY_URL: upstreams.url('inventory'),
      UPSTREAM_TIMEOUT_MS: '300',
      HTTP_BODY_LIMIT: '1kb',
    });
    metrics = createMetrics({ service: 'orders', runtimeMetrics: false });
    http = appWith();
    upstreams.product('MUG-CER-350', 1250, 10);
    upstreams.product('TEE-BLK-M', 1999, 1);
    upstreams.product('HAT-USD', 900, 5, 'USD');
  });
  after(async () => {
    await client.close();
    await issuer.stop();
    await upstreams.stop();
    await mongo.stop();
  });

  it('places the cart as a PENDING order priced by catalog, reserves it and empties the cart', async () => {
    upstreams.carts.set('u-happy', [
      { sku: 'MUG-CER-350', quantity: 2 },
      { sku: 'TEE-BLK-M', quantity: 1 },
    ]);
    const response = await place('u-happy');
    assert.equal(response.status, 202);
    const { orderId, status } = response.body as { orderId: string; status: string };
    assert.equal(status, 'PENDING');
    assert.match(orderId, /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.location, `/orders/${orderId}`);

    const order = await api().get(`/orders/${orderId}`);
    assert.equal(order.status, 200);
    const body = order.body as Record<string, unknown>;
    assert.deepEqual(
      { ...body, createdAt: 'x', updatedAt: 'x', history: 'x' },
      {
        orderId,
        userId: 'u-happy',
        status: 'PENDING',
        lines: [
          { sku: 'MUG-CER-350', name: 'Product MUG-CER-350', quantity: 2, unitPriceMinor: 1250 },
          { sku: 'TEE-BLK-M', name: 'Product TEE-BLK-M', quantity: 1, unitPriceMinor: 1999 },
        ],
        totalMinor: 4499,
        currency: 'EUR',
        createdAt: 'x',
        updatedAt: 'x',
        history: 'x',
      },
    );
    assert.deepEqual(body.history, [{ status: 'PENDING', at: body.createdAt }]);
    // Reserved under the order id, cart emptied, OrderPlaced waiting in the same document.
    assert.deepEqual(upstreams.reservations.get(orderId), [
      { sku: 'MUG-CER-350', quantity: 2 },
      { sku: 'TEE-BLK-M', quantity: 1 },
    ]);
    assert.equal(upstreams.carts.has('u-happy'), false);
    const stored = await orders.collection.findOne({ _id: orderId });
    assert.equal(stored?.outboxPending, 1);
    const [placed] = stored.outbox ?? [];
    assert.equal(placed?.type, 'com.emporium.orders.OrderPlaced');
    assert.equal((placed.data as { totalMinor: number }).totalMinor, 4499);
    // The cart was read and emptied as its user; the stock reserved as orders itself.
    const bearerOf = (call: StubCall | undefined): string =>
      String(call?.headers.authorization).replace(/^Bearer /, '');
    const cartCalls = upstreams.rawCalls('cart').filter((call) => call.path === '/carts/u-happy');
    assert.deepEqual(
      cartCalls.map((call) => [call.method, decodeJwt(bearerOf(call)).sub]),
      [
        ['GET', 'u-happy'],
        ['DELETE', 'u-happy'],
      ],
    );
    const reserve = upstreams.rawCalls('inventory').find((call) => {
      const body = call.body as { orderId?: string } | undefined;
      return body?.orderId === orderId;
    });
    const workload = decodeJwt(bearerOf(reserve));
    assert.equal(workload.sub, 'system:serviceaccount:emporium:orders');
    assert.equal(workload.aud, 'inventory');
  });

  it("lists a user's orders newest first", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      upstreams.carts.set('u-list', [{ sku: 'MUG-CER-350', quantity: 1 }]);
      const response = await place('u-list');
      assert.equal(response.status, 202);
      ids.push((response.body as { orderId: string }).orderId);
      await sleep(5); // distinct createdAt
    }
    const response = await api().get('/orders').query({ userId: 'u-list' });
    assert.equal(response.status, 200);
    const items = (response.body as { items: { orderId: string; status: string }[] }).items;
    assert.deepEqual(
      items.map((o) => o.orderId),
      ids.reverse(),
    );
    const none = await api().get('/orders').query({ userId: 'u-nobody' });
    assert.deepEqual(none.body, { items: [] });
  });

  it('409 CART_EMPTY when the user has no cart, and nothing is written', async () => {
    const response = await place('u-empty');
    assert.equal(response.status, 409);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    assert.equal((response.body as { code: string }).code, 'CART_EMPTY');
    assert.equal(await orders.collection.countDocuments({ userId: 'u-empty' }), 0);
  });

  it('409 UNKNOWN_SKU naming the skus catalog no longer has', async () => {
    upstreams.carts.set('u-gone', [
      { sku: 'MUG-CER-350', quantity: 1 },
      { sku: 'GONE-1', quantity: 1 },
    ]);
    const reservations = upstreams.reservations.size;
    const response = await place('u-gone');
    assert.equal(response.status, 409);
    const body = response.body as { code: string; skus: string[] };
    assert.equal(body.code, 'UNKNOWN_SKU');
    assert.deepEqual(body.skus, ['GONE-1']);
    assert.equal(upstreams.reservations.size, reservations);
    assert.equal(await orders.collection.countDocuments({ userId: 'u-gone' }), 0);
  });

  it('409 OUT_OF_STOCK naming the short skus; nothing is written and the cart stays', async () => {
    upstreams.carts.set('u-short', [
      { sku: 'MUG-CER-350', quantity: 1 },
      { sku: 'TEE-BLK-M', quantity: 5 },
    ]);
    const response = await place('u-short');
    assert.equal(response.status, 409);
    const body = response.body as { code: string; skus: string[] };
    assert.equal(body.code, 'OUT_OF_STOCK');
    assert.deepEqual(body.skus, ['TEE-BLK-M']);
    assert.equal(await orders.collection.countDocuments({ userId: 'u-short' }), 0);
    assert.equal(upstreams.carts.has('u-short'), true);
  });

  it('409 CART_TOO_LARGE and MIXED_CURRENCIES', async () => {
    upstreams.carts.set(
      'u-huge',
      Array.from({ length: 101 }, (_, i) => ({ sku: `SKU-${String(i)}`, quantity: 1 })),
    );
    const huge = await place('u-huge');
    assert.equal(huge.status, 409);
    assert.equal((huge.body as { code: string }).code, 'CART_TOO_LARGE');
    upstreams.carts.set('u-mixed', [
      { sku: 'MUG-CER-350', quantity: 1 },
      { sku: 'HAT-USD', quantity: 1 },
    ]);
    const mixed = await place('u-mixed');
    assert.equal(mixed.status, 409);
    assert.equal((mixed.body as { code: string }).code, 'MIXED_CURRENCIES');
  });

  it('400 for malformed JSON, a wrong type (with its field path) and a missing field', async () => {
    const malformed = await api()
      .post('/orders')
      .set('content-type', 'application/json')
      .send('{"userId":');
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as { code: string }).code, 'MALFORMED_REQUEST');
    record('post /orders', malformed.status);

    const wrongType = await api().post('/orders').send({ userId: 42 });
    assert.equal(wrongType.status, 400);
    const body = wrongType.body as { code: string; errors: { path: string }[] };
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.equal(body.errors[0]?.path, 'body.userId');

    const missing = await api().post('/orders').send({});
    assert.equal(missing.status, 400);
  });

  it('413 for a body over the limit and 415 for a body that is not JSON', async () => {
    const large = await api()
      .post('/orders')
      .send({ userId: 'u-1', padding: 'x'.repeat(2048) });
    assert.equal(large.status, 413);
    assert.equal((large.body as { code: string }).code, 'PAYLOAD_TOO_LARGE');
    record('post /orders', large.status);
    const text = await api().post('/orders').set('content-type', 'text/plain').send('userId=u-1');
    assert.equal(text.status, 415);
    record('post /orders', text.status);
  });

  it('404 for an unknown order and 400 for a malformed id', async () => {
    const unknown = await api().get('/orders/o-none');
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as { code: string }).code, 'ORDER_NOT_FOUND');
    record('get /orders/{id}', unknown.status);
    const bad = await api().get('/orders/not%20an%20id!');
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { errors: { path: string }[] }).errors[0]?.path, 'params.id');
    record('get /orders/{id}', bad.status);
  });

  it('400 for a list without a valid userId or with a limit out of range', async () => {
    const missing = await api().get('/orders');
    assert.equal(missing.status, 400);
    assert.equal((missing.body as { errors: { path: string }[] }).errors[0]?.path, 'query.userId');
    const limit = await api().get('/orders').query({ userId: 'u-1', limit: 0 });
    assert.equal(limit.status, 400);
    record('get /orders', missing.status);
  });

  it('believes only verified tokens: a customer acts only for themself, admin for all', async () => {
    upstreams.carts.set('u-owner', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    const other = await api()
      .post('/orders')
      .set('authorization', await as('u-intruder'))
      .send({ userId: 'u-owner' });
    assert.equal(other.status, 403);
    assert.equal((other.body as { code: string }).code, 'FORBIDDEN');
    record('post /orders', other.status);

    const own = await api()
      .post('/orders')
      .set('authorization', await as('u-owner'))
      .send({ userId: 'u-owner' });
    assert.equal(own.status, 202);
    const { orderId } = own.body as { orderId: string };

    const list = await api()
      .get('/orders')
      .set('authorization', await as('u-intruder'))
      .query({ userId: 'u-owner' });
    assert.equal(list.status, 403);
    record('get /orders', list.status);
    // Someone else's order looks like no order at all.
    const peek = await api()
      .get(`/orders/${orderId}`)
      .set('authorization', await as('u-intruder'));
    assert.equal(peek.status, 404);
    const admin = await api()
      .get(`/orders/${orderId}`)
      .set('authorization', await as('u-support', ['support', 'admin']));
    assert.equal(admin.status, 200);
  });

  it('401 without a token or with forged identity headers, 403 for a service on user routes', async () => {
    upstreams.carts.set('u-forger', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    const forged = { 'x-user-id': 'u-forger', 'x-user-roles': 'admin' };
    const service = `Bearer ${await issuer.serviceToken('inventory', 'orders')}`;
    const calls = [
      ['post /orders', () => request(http.app).post('/orders').send({ userId: 'u-forger' })],
      ['get /orders', () => request(http.app).get('/orders').query({ userId: 'u-forger' })],
      ['get /orders/{id}', () => request(http.app).get('/orders/o-any')],
    ] as const;
    for (const [operation, call] of calls) {
      const anonymous = await call().set(forged);
      assert.equal(anonymous.status, 401, operation);
      assert.equal((anonymous.body as { code: string }).code, 'TOKEN_REQUIRED');
      record(operation, anonymous.status);
      const fromService = await call().set('authorization', service);
      assert.equal(fromService.status, 403, operation);
      assert.equal((fromService.body as { code: string }).code, 'CALLER_NOT_ALLOWED');
      record(operation, fromService.status);
    }
    assert.equal(upstreams.carts.has('u-forger'), true, 'nothing was ordered');
  });

  it('503 with Retry-After when cart is down, and nothing is written', async () => {
    const down = `http://127.0.0.1:${String(await freePort())}`;
    upstreams.carts.set('u-down', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    const response = await place('u-down', appWith({ UPSTREAM_CART_URL: down }).app);
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '5');
    assert.equal((response.body as { code: string }).code, 'UNAVAILABLE');
    assert.equal(await orders.collection.countDocuments({ userId: 'u-down' }), 0);
  });

  it('504 when catalog is too slow, and nothing is reserved or written', async () => {
    upstreams.carts.set('u-slow', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    upstreams.catalogDelayMs = 600;
    const reservations = upstreams.reservations.size;
    try {
      const response = await place('u-slow');
      assert.equal(response.status, 504);
      assert.equal((response.body as { code: string }).code, 'UPSTREAM_TIMEOUT');
    } finally {
      upstreams.catalogDelayMs = 0;
    }
    assert.equal(upstreams.reservations.size, reservations);
    assert.equal(await orders.collection.countDocuments({ userId: 'u-slow' }), 0);
  });

  it('retries the idempotent reservation after a 503, reserving once; 503 if inventory stays down', async () => {
    upstreams.carts.set('u-retry', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    upstreams.inventoryFailures = 1;
    const retried = await place('u-retry');
    assert.equal(retried.status, 202);
    const { orderId } = retried.body as { orderId: string };
    assert.equal(
      upstreams.calls('inventory').filter((call) => call === 'POST /reservations').length >= 2,
      true,
    );
    assert.deepEqual(upstreams.reservations.get(orderId), [{ sku: 'MUG-CER-350', quantity: 1 }]);
    // The key that lets a sidecar retry the POST too: the order id, on every attempt.
    const attempts = upstreams
      .rawCalls('inventory')
      .filter((call) => (call.body as { orderId?: string } | undefined)?.orderId === orderId);
    assert.ok(attempts.length >= 2);
    assert.deepEqual(
      attempts.map((call) => call.headers['idempotency-key']),
      attempts.map(() => orderId),
    );

    upstreams.carts.set('u-retry-down', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    upstreams.inventoryFailures = 10;
    try {
      const down = await place('u-retry-down');
      assert.equal(down.status, 503);
      assert.ok(down.headers['retry-after']);
    } finally {
      upstreams.inventoryFailures = 0;
    }
    assert.equal(await orders.collection.countDocuments({ userId: 'u-retry-down' }), 0);
  });

  it('an Idempotency-Key makes placing safe to repeat: one order, one reservation, one answer', async () => {
    const placeWith = (userId: string, key: string) =>
      api().post('/orders').set('idempotency-key', key).send({ userId });
    const idOf = (response: { body: unknown }): string =>
      (response.body as { orderId: string }).orderId;
    upstreams.carts.set('u-key', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    const key = randomUUID();
    // Two side by side (a client that timed out and retried), then one more afterwards.
    const answers = await Promise.all([placeWith('u-key', key), placeWith('u-key', key)]);
    answers.push(await placeWith('u-key', key));
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202, 202],
    );
    const orderId = idOf(answers[0]);
    assert.deepEqual(answers.map(idOf), [orderId, orderId, orderId]);
    assert.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 2);
    for (const answer of answers) {
      assert.deepEqual(answer.body, { orderId, status: 'PENDING' });
      assert.equal(answer.headers.location, `/orders/${orderId}`);
    }
    assert.equal(await orders.collection.countDocuments({ userId: 'u-key' }), 1);
    assert.deepEqual(upstreams.reservations.get(orderId), [{ sku: 'MUG-CER-350', quantity: 1 }]);

    // Another key is another order; the same key is another user's own.
    upstreams.carts.set('u-key', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    const next = await placeWith('u-key', randomUUID());
    assert.equal(next.status, 202);
    assert.notEqual(idOf(next), orderId);
    upstreams.carts.set('u-key-2', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    const theirs = await placeWith('u-key-2', key);
    assert.equal(theirs.status, 202);
    assert.notEqual(idOf(theirs), orderId);
    assert.equal(theirs.headers['idempotent-replayed'], undefined);

    // A key that is not 1–255 visible ASCII characters is refused before anything happens.
    upstreams.carts.set('u-key-3', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    for (const bad of ['x'.repeat(256), 'a key with spaces']) {
      const refused = await placeWith('u-key-3', bad);
      record('post /orders', refused.status);
      assert.equal(refused.status, 400);
      assert.equal((refused.body as { code: string }).code, 'VALIDATION_FAILED');
    }
    assert.equal(await orders.collection.countDocuments({ userId: 'u-key-3' }), 0);
  });

  it('422 IDEMPOTENCY_KEY_REUSED when a retry with the same key meets a reservation of other lines', async () => {
    // The first try reserved one mug and died before storing its order; then the cart changed.
    upstreams.product('SCARF-1', 500, 10);
    const key = randomUUID();
    upstreams.reservations.set(orderIdFor('u-changed', key), [{ sku: 'SCARF-1', quantity: 1 }]);
    upstreams.carts.set('u-changed', [{ sku: 'SCARF-1', quantity: 3 }]);
    const place = () =>
      api().post('/orders').set('idempotency-key', key).send({ userId: 'u-changed' });
    for (const ignores of [false, true]) {
      // Also when inventory answers 200 with the old lines: any 2xx is not enough.
      upstreams.inventoryIgnoresLines = ignores;
      const response = await place();
      record('post /orders', response.status);
      assert.equal(response.status, 422);
      assert.equal((response.body as { code: string }).code, 'IDEMPOTENCY_KEY_REUSED');
    }
    upstreams.inventoryIgnoresLines = false;
    assert.equal(await orders.collection.countDocuments({ userId: 'u-changed' }), 0);
    assert.equal(upstreams.carts.get('u-changed')?.[0]?.quantity, 3, 'the cart stays');
    // A new key orders the cart as it is now.
    const fresh = await api()
      .post('/orders')
      .set('idempotency-key', randomUUID())
      .send({ userId: 'u-changed' });
    assert.equal(fresh.status, 202);
  });

  it('still accepts the order when the cart cannot be emptied', async () => {
    upstreams.carts.set('u-sticky', [{ sku: 'MUG-CER-350', quantity: 1 }]);
    upstreams.cartDeleteFails = true;
    try {
      const response = await place('u-sticky');
      assert.equal(response.status, 202);
    } finally {
      upstreams.cartDeleteFails = false;
    }
    assert.equal(await orders.collection.countDocuments({ userId: 'u-sticky' }), 1);
  });

  it('counts placements, rejections by code, and zero-initialises transitions', async () => {
    const text = await metrics.registry.metrics();
    assert.match(text, /^orders_placed_total\{currency="EUR",service="orders"\} [1-9]/m);
    assert.match(text, /^orders_rejected_total\{code="OUT_OF_STOCK",service="orders"\} 1$/m);
    assert.match(text, /^order_transitions_total\{from="PENDING",to="PAID",service="orders"\} 0$/m);
  });

  it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones tested above', async () => {
    const response = await api().get('/openapi.json');
    assert.equal(response.status, 200);
    await assertValidOpenApi(response.body);
    const paths = (
      response.body as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      }
    ).paths;
    const documented = new Map<string, string[]>();
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const clientErrors = Object.keys(operation.responses).filter((s) => s.startsWith('4'));
        documented.set(`${method} ${path}`, clientErrors.sort());
      }
    }
    const tested = new Map([...exercised].map(([op, set]) => [op, [...set].sort()]));
    assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(tested));
    assert.deepEqual(Object.fromEntries(documented), {
      'post /orders': ['400', '401', '403', '409', '413', '415', '422'],
      'get /orders/{id}': ['400', '401', '403', '404'],
      'get /orders': ['400', '401', '403'],
    });
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, {
      PORT: 'x',
      MONGO_URL: 'http://db',
      UPSTREAM_CATALOG_URL: 'ftp://catalog',
      UPSTREAM_TIMEOUT_MS: 'soon',
    });
    assert.equal(code, 78);
    for (const variable of [
      'PORT',
      'MONGO_URL',
      'KAFKA_BROKERS',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'UPSTREAM_CART_URL',
      'UPSTREAM_CATALOG_URL',
      'UPSTREAM_INVENTORY_URL',
      'UPSTREAM_TIMEOUT_MS',
    ]) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });
});
