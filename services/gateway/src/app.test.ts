import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import {
  assertValidOpenApi,
  freePort,
  json,
  problem,
  startHttpStub,
  startRedis,
  tempDir,
  type HttpStub,
  type RedisServer,
} from '@emporium/harness';
import { createMetrics, createRedisClient, type HttpApp, type Metrics } from '@emporium/platform';
import type { Redis } from 'ioredis';
import {
  decodeJwt,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWTPayload,
} from 'jose';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema, DEV_ISSUER } from './config.js';
import { createDevIssuer } from './dev-issuer/dev-issuer.js';
import { createUpstreams } from './gateways/upstreams.gateway.js';
import { rateLimitsRepository } from './repositories/rate-limits.repository.js';

const ISSUER = 'https://issuer.test/pool-1';
const AUDIENCE = 'emporium-web';
const logger = pino({ level: 'silent' });

const product = (id: string, sku: string) => ({
  id,
  sku,
  name: `Product ${id}`,
  description: 'A product.',
  priceMinor: 1200,
  currency: 'EUR',
  categories: ['mugs'],
  images: [],
  updatedAt: '2026-11-27T10:00:00.000Z',
});

const cart = (userId: string) => ({
  userId,
  lines: [],
  currency: 'EUR',
  totalMinor: 0,
  updatedAt: '2026-11-27T10:00:00.000Z',
});

/**
 * The services behind the gateway, answering per the API contract over real HTTP. Each lives
 * under its own prefix (`/catalog/products/...`), which the UPSTREAM_* base URLs carry.
 */
function startFakeServices(jwks: () => unknown): Promise<HttpStub> {
  const skus: Partial<Record<string, string>> = {
    'p-1': 'MUG-1',
    'p-nostock': 'NOSTOCK-1',
    'p-down': 'DOWN-1',
  };
  return startHttpStub({
    'GET /jwks.json': (_req, res) => {
      json(res, 200, jwks());
    },
    'GET /catalog/products': (_req, res) => {
      json(res, 200, { items: [product('p-1', 'MUG-1')], total: 1, limit: 20, offset: 0 });
    },
    'GET /catalog/products/:id': ({ params: { id } }, res) => {
      const sku = skus[id];
      if (sku) json(res, 200, product(id, sku));
      // As catalog answers: its own path as the instance, which the client must not see.
      else problem(res, 404, 'PRODUCT_NOT_FOUND', { instance: `/products/${id}` });
    },
    'POST /catalog/products': (_req, res) => {
      json(res, 201, product('p-new', 'NEW-1'), { location: '/products/p-new' });
    },
    'PUT /catalog/products/:id': ({ params: { id } }, res) => {
      if (id === 'p-1') json(res, 200, product('p-1', 'MUG-1'));
      else problem(res, 404, 'PRODUCT_NOT_FOUND');
    },
    'GET /inventory/stock/MUG-1': (_req, res) => {
      json(res, 200, { sku: 'MUG-1', available: 7, reserved: 1, committed: 0 });
    },
    'GET /inventory/stock/NOSTOCK-1': (_req, res) => {
      problem(res, 404, 'STOCK_NOT_FOUND');
    },
    'GET /inventory/stock/DOWN-1': (_req, res) => {
      problem(res, 503, 'UNAVAILABLE', {}, { 'retry-after': '5' });
    },
    'PUT /inventory/stock/:sku': ({ params: { sku }, body }, res) => {
      const { available } = body as { available: number };
      json(res, 200, { sku, available, reserved: 0, committed: 0 });
    },
    'PUT /cart/carts/:userId/lines/:sku': ({ params: { userId, sku } }, res) => {
      if (sku === 'UNKNOWN-1') problem(res, 404, 'UNKNOWN_SKU');
      else json(res, 200, cart(userId));
    },
    'GET /cart/carts/:userId': ({ params: { userId } }, res) => {
      json(res, 200, cart(userId));
    },
    'DELETE /cart/carts/:userId/lines/:sku': ({ params: { userId } }, res) => {
      json(res, 200, cart(userId));
    },
    'DELETE /cart/carts/:userId': (_req, res) => {
      res.writeHead(204).end();
    },
    'POST /orders/orders': ({ body, headers }, res) => {
      // A repeat of an Idempotency-Key is answered as orders does: same order, marked replayed.
      const replayed: Record<string, string> = headers['idempotency-key']
        ? { 'idempotent-replayed': 'true' }
        : {};
      if ((body as { userId: string }).userId === 'bob') problem(res, 409, 'CART_EMPTY');
      else {
        json(
          res,
          202,
          { orderId: 'o-1', status: 'PENDING' },
          { location: '/orders/o-1', ...replayed },
        );
      }
    },
    'GET /orders/orders': (_req, res) => {
      json(res, 200, { items: [] });
    },
    'GET /orders/orders/:id': ({ params: { id }, headers }, res) => {
      const order = {
        orderId: 'o-1',
        userId: 'alice',
        status: 'SHIPPED',
        lines: [],
        totalMinor: 0,
        currency: 'EUR',
        createdAt: 'x',
        updatedAt: 'x',
        history: [],
      };
      // As orders does: the caller comes from the token passed on, never from a header.
      const sub = decodeJwt(String(headers.authorization).replace(/^Bearer /, '')).sub;
      if (id === 'o-1' && sub === 'alice') json(res, 200, order);
      else problem(res, 404, 'ORDER_NOT_FOUND');
    },
    'GET /shipping/shipments/o-1': (_req, res) => {
      json(res, 200, {
        orderId: 'o-1',
        trackingId: 'EMP1',
        carrier: 'EMPORIUM-POST',
        status: 'DISPATCHED',
      });
    },
    'GET /payments/payments/o-1': (_req, res) => {
      json(res, 200, {
        paymentId: 'pay-1',
        orderId: 'o-1',
        userId: 'alice',
        amountMinor: 0,
        currency: 'EUR',
        status: 'AUTHORIZED',
        createdAt: 'x',
      });
    },
    'GET /notifications/notifications': (_req, res) => {
      json(res, 200, { items: [] });
    },
    // The trace collector's OTLP/HTTP intake, where the gateway passes the browser's spans.
    'POST /collector/v1/traces': (_req, res) => {
      json(res, 200, {});
    },
    'POST /broken-collector/v1/traces': (_req, res) => {
      problem(res, 500, 'INTERNAL');
    },
  });
}

/** A product body catalog takes (the gateway checks it against the same schema). */
const MUG = { sku: 'MUG-1', name: 'Mug', priceMinor: 1250, currency: 'EUR' };

describe('gateway HTTP API', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let services: HttpStub;
  let base: string;
  let http: HttpApp;
  let metrics: Metrics;
  let issuerKey: CryptoKey;
  let otherKey: CryptoKey;
  /** The issuer's public key as PEM: what an HS256 forgery uses as its "secret". */
  let publicPem = '';
  let jwk: Record<string, unknown> = {};
  /** Every 4xx status the tests below drew from the gateway. */
  const exercised = new Set<number>();

  const env = (extra: Record<string, string> = {}) => ({
    REDIS_URL: redisServer.url,
    UPSTREAM_CATALOG_URL: `${base}/catalog`,
    UPSTREAM_CART_URL: `${base}/cart`,
    UPSTREAM_INVENTORY_URL: `${base}/inventory`,
    UPSTREAM_ORDERS_URL: `${base}/orders`,
    UPSTREAM_NOTIFICATIONS_URL: `${base}/notifications`,
    UPSTREAM_SHIPPING_URL: `${base}/shipping`,
    UPSTREAM_PAYMENTS_URL: `${base}/payments`,
    JWT_JWKS_URL: `${base}/jwks.json`,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    RATE_LIMIT_USER_CAPACITY: '10000',
    RATE_LIMIT_IP_CAPACITY: '10000',
    ...extra,
  });

  const appFor = (
    config: ReturnType<typeof configSchema.parse>,
    limiter: Redis = redis,
  ): HttpApp => {
    const appMetrics = createMetrics({ service: 'gateway', runtimeMetrics: false });
    return buildApp(config, {
      upstreams: createUpstreams(config, appMetrics, logger),
      rateLimits: rateLimitsRepository(limiter, {
        userCapacity: config.RATE_LIMIT_USER_CAPACITY,
        userRefillPerSecond: config.RATE_LIMIT_USER_REFILL_PER_SECOND,
        ipCapacity: config.RATE_LIMIT_IP_CAPACITY,
        ipRefillPerSecond: config.RATE_LIMIT_IP_REFILL_PER_SECOND,
        tracesCapacity: config.BROWSER_TRACES_CAPACITY,
        tracesRefillPerSecond: config.BROWSER_TRACES_REFILL_PER_SECOND,
      }),
      metrics: appMetrics,
      logger,
    });
  };

  const sign = (claims: JWTPayload, options: { key?: CryptoKey; expiresIn?: number } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now,
      exp: now + (options.expiresIn ?? 300),
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(options.key ?? issuerKey);
  };
  const bearer = async (claims: JWTPayload) => `Bearer ${await sign(claims)}`;
  const lastCall = (prefix: string) =>
    [...services.calls].reverse().find((call) => call.url.startsWith(prefix));

  const expectProblem = (response: request.Response, status: number, code?: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    if (code) assert.equal((response.body as { code: string }).code, code);
    if (status >= 400 && status < 500) exercised.add(status);
  };

  before(async () => {
    redisServer = await startRedis();
    redis = createRedisClient({ url: redisServer.url, logger });
    const pair = await generateKeyPair('RS256', { extractable: true });
    issuerKey = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    publicPem = await exportSPKI(pair.publicKey);
    ({ privateKey: otherKey } = await generateKeyPair('RS256'));
    services = await startFakeServices(() => ({ keys: [jwk] }));
    base = services.url;
    const config = configSchema.parse(env());
    metrics = createMetrics({ service: 'gateway', runtimeMetrics: false });
    http = buildApp(config, {
      upstreams: createUpstreams(config, metrics, logger),
      rateLimits: rateLimitsRepository(redis, {
        userCapacity: config.RATE_LIMIT_USER_CAPACITY,
        userRefillPerSecond: config.RATE_LIMIT_USER_REFILL_PER_SECOND,
        ipCapacity: config.RATE_LIMIT_IP_CAPACITY,
        ipRefillPerSecond: config.RATE_LIMIT_IP_REFILL_PER_SECOND,
      }),
      metrics,
      logger,
    });
  });
  after(async () => {
    redis.disconnect();
    await services.stop();
    await redisServer.stop();
  });

  describe('authentication', () => {
    it('401 with WWW-Authenticate: Bearer without a token', async () => {
      const response = await request(http.app).get('/api/cart');
      expectProblem(response, 401, 'TOKEN_REQUIRED');
      assert.match(String(response.headers['www-authenticate']), /^Bearer /);
      assert.match(
        await metrics.text('gateway_requests_rejected_total'),
        /reason="unauthenticated"/,
      );
    });

    it('401 for every kind of bad token, each counted by its reason', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now + 300 };
      const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
      const cases: [string, string][] = [
        [await sign({ sub: 'alice' }, { key: otherKey }), 'signature'],
        [await sign({ sub: 'alice', iat: now - 600, exp: now - 60 }), 'expired'],
        [await sign({ sub: 'alice', aud: 'someone-else' }), 'audience'],
        [await sign({ sub: 'alice', iss: 'https://evil.test' }), 'issuer'],
        [await sign({ sub: 'alice', aud: undefined, client_id: 'someone-else' }), 'audience'],
        [await sign({ sub: '../admin' }), 'claims'],
        // An unsecured JWT: `alg: none` and no signature at all.
        [`${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`, 'algorithm'],
        // The key-confusion forgery: HS256 keyed with the issuer's public key, which anyone has.
        [
          await new SignJWT(claims)
            .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
            .sign(new TextEncoder().encode(publicPem)),
          'algorithm',
        ],
        // Signed by a key the issuer never published.
        [
          await new SignJWT(claims)
            .setProtectedHeader({ alg: 'RS256', kid: 'k-unknown' })
            .sign(otherKey),
          'unknown_key',
        ],
        ['not-a-jwt', 'malformed'],
      ];
      const counted = async (reason: string) => {
        const text = await metrics.text('auth_tokens_refused_total');
        const line = new RegExp(`reason="${reason}"[^}]*\\} (\\d+)`).exec(text);
        return Number(line?.[1] ?? '0');
      };
      for (const [token, reason] of cases) {
        const before = await counted(reason);
        const response = await request(http.app)
          .get('/api/cart')
          .set('authorization', `Bearer ${token}`);
        expectProblem(response, 401, 'INVALID_TOKEN');
        assert.match(String(response.headers['www-authenticate']), /^Bearer .*invalid_token/);
        assert.equal(await counted(reason), before + 1, `${reason}: ${token.slice(0, 40)}`);
      }
      const basic = await request(http.app).get('/api/cart').set('authorization', 'Basic YTpi');
      expectProblem(basic, 401, 'INVALID_TOKEN');
    });

    it('with JWT_TOKEN_USE=access (Cognito), an ID token is refused and an access token taken', async () => {
      const strict = appFor(configSchema.parse(env({ JWT_TOKEN_USE: 'access' })));
      const id = await request(strict.app)
        .get('/api/cart')
        .set('authorization', await bearer({ sub: 'alice', token_use: 'id' }));
      expectProblem(id, 401, 'INVALID_TOKEN');
      const access = await request(strict.app)
        .get('/api/cart')
        .set('authorization', await bearer({ sub: 'alice', token_use: 'access' }));
      assert.equal(access.status, 200, JSON.stringify(access.body));
    });

    it('accepts a Cognito access token: client_id instead of aud, roles from cognito:groups', async () => {
      const token = await bearer({
        sub: 'cog-user-1',
        aud: undefined,
        client_id: AUDIENCE,
        token_use: 'access',
        'cognito:groups': ['admin'],
      });
      const response = await request(http.app)
        .put('/api/products/p-1')
        .set('authorization', token)
        .send(MUG);
      assert.equal(response.status, 200);
      const call = lastCall('/catalog/products/p-1');
      assert.ok(call);
      // The token goes on as it came: catalog verifies it again itself.
      assert.equal(call.headers.authorization, token);
      // Checked against catalog's own schema, so its defaults come filled in.
      assert.deepEqual(call.body, { ...MUG, description: '', categories: [], images: [] });
    });

    it('passes the verified token on, never the identity headers a client sent', async () => {
      const alice = await bearer({ sub: 'alice' });
      const response = await request(http.app)
        .get('/api/cart')
        .set('authorization', alice)
        .set('x-user-id', 'mallory')
        .set('x-user-roles', 'admin');
      assert.equal(response.status, 200);
      assert.equal((response.body as { userId: string }).userId, 'alice');
      const call = lastCall('/cart/carts/');
      assert.ok(call);
      assert.equal(call.url, '/cart/carts/alice');
      assert.equal(call.headers.authorization, alice);
      assert.equal(call.headers['x-user-id'], undefined);
      assert.equal(call.headers['x-user-roles'], undefined);

      await request(http.app)
        .get('/api/products')
        .set('x-user-id', 'mallory')
        .set('x-user-roles', 'admin')
        .expect(200);
      const browse = lastCall('/catalog/products');
      assert.equal(browse?.headers['x-user-id'], undefined);
      assert.equal(browse?.headers['x-user-roles'], undefined);
      assert.equal(browse?.headers.authorization, undefined);
    });

    it('403 on admin routes for a user without the admin role, even claiming it in a header', async () => {
      const token = await bearer({ sub: 'alice', roles: ['shopper'] });
      const before = services.calls.length;
      for (const call of [
        request(http.app).post('/api/products').set('x-user-roles', 'admin').send({ name: 'x' }),
        request(http.app).put('/api/products/p-1').send({ name: 'x' }),
        request(http.app).put('/api/stock/MUG-1').send({ available: 3 }),
      ]) {
        expectProblem(await call.set('authorization', token), 403, 'ADMIN_REQUIRED');
      }
      assert.equal(services.calls.length, before, 'nothing reached the services');
      assert.match(await metrics.text('gateway_requests_rejected_total'), /reason="forbidden"/);
    });

    it('routes only the exact spelling: PUT /api/PRODUCTS/x reaches no handler, admin or not', async () => {
      const token = await bearer({ sub: 'alice', roles: ['shopper'] });
      const before = services.calls.length;
      for (const call of [
        request(http.app).put('/api/PRODUCTS/p-1').send({ name: 'x' }),
        request(http.app).put('/api/products/p-1/').send({ name: 'x' }),
        request(http.app).put('/API/stock/MUG-1').send({ available: 3 }),
        request(http.app).get('/api/Cart'),
      ]) {
        expectProblem(await call.set('authorization', token), 404, 'NOT_FOUND');
      }
      assert.equal(services.calls.length, before, 'nothing reached the services');
    });

    it('without a token: anonymous routes answer, user and admin routes 401', async () => {
      assert.equal((await request(http.app).get('/api/products')).status, 200);
      for (const call of [
        request(http.app).get('/api/orders'),
        request(http.app).put('/api/cart/lines/MUG-1').send({ quantity: 1 }),
        request(http.app).put('/api/stock/MUG-1').send({ available: 3 }),
      ]) {
        expectProblem(await call, 401, 'TOKEN_REQUIRED');
      }
    });
  });

  describe('catalog browsing (anonymous)', () => {
    it('lists products, passing the query through', async () => {
      const response = await request(http.app).get(
        '/api/products?category=mugs&q=blue&limit=5&offset=10&skus=MUG-1,MUG-2',
      );
      assert.equal(response.status, 200);
      assert.equal((response.body as { total: number }).total, 1);
      const call = lastCall('/catalog/products');
      const query = new URL(call?.url ?? '', 'http://x').searchParams;
      assert.deepEqual(Object.fromEntries(query), {
        category: 'mugs',
        q: 'blue',
        limit: '5',
        offset: '10',
        skus: 'MUG-1,MUG-2',
      });
    });

    it('400 with field paths for a bad query or id', async () => {
      const query = await request(http.app).get('/api/products?limit=1000');
      expectProblem(query, 400, 'VALIDATION_FAILED');
      assert.equal((query.body as { errors: { path: string }[] }).errors[0]?.path, 'query.limit');
      expectProblem(
        await request(http.app).get('/api/products/bad%20id!'),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('one product, and the catalog’s 404 passed through', async () => {
      const found = await request(http.app).get('/api/products/p-1');
      assert.equal(found.status, 200);
      assert.equal((found.body as { sku: string }).sku, 'MUG-1');
      const missing = await request(http.app).get('/api/products/p-missing?x=1');
      expectProblem(missing, 404, 'PRODUCT_NOT_FOUND');
      assert.equal((missing.body as { instance: string }).instance, '/api/products/p-missing');
    });

    it('the product page aggregates catalog and inventory, and degrades without inventory', async () => {
      const page = await request(http.app).get('/api/products/p-1/page');
      assert.equal(page.status, 200);
      assert.deepEqual((page.body as { stock: unknown }).stock, { available: 7 });
      assert.equal((page.body as { product: { id: string } }).product.id, 'p-1');
      const noStock = await request(http.app).get('/api/products/p-nostock/page');
      assert.deepEqual((noStock.body as { stock: unknown }).stock, { available: 0 });
      const down = await request(http.app).get('/api/products/p-down/page');
      assert.equal(down.status, 200);
      assert.equal((down.body as { stock: unknown }).stock, null);
      assert.match(
        await metrics.text('gateway_product_pages_degraded_total'),
        /gateway_product_pages_degraded_total\{[^}]*\} 1/,
      );
      expectProblem(
        await request(http.app).get('/api/products/p-missing/page'),
        404,
        'PRODUCT_NOT_FOUND',
      );
    });
  });

  describe('signed-in routes', () => {
    it('cart: put, remove, clear, and the bodies it refuses', async () => {
      const token = await bearer({ sub: 'alice' });
      const put = await request(http.app)
        .put('/api/cart/lines/MUG-1')
        .set('authorization', token)
        .send({ quantity: 2 });
      assert.equal(put.status, 200);
      assert.deepEqual(lastCall('/cart/')?.body, { quantity: 2 });
      assert.equal(lastCall('/cart/')?.url, '/cart/carts/alice/lines/MUG-1');
      expectProblem(
        await request(http.app)
          .put('/api/cart/lines/UNKNOWN-1')
          .set('authorization', token)
          .send({ quantity: 1 }),
        404,
        'UNKNOWN_SKU',
      );
      const wrongType = await request(http.app)
        .put('/api/cart/lines/MUG-1')
        .set('authorization', token)
        .send({ quantity: 'two' });
      expectProblem(wrongType, 400, 'VALIDATION_FAILED');
      assert.equal(
        (wrongType.body as { errors: { path: string }[] }).errors[0]?.path,
        'body.quantity',
      );
      expectProblem(
        await request(http.app)
          .put('/api/cart/lines/MUG-1')
          .set('authorization', token)
          .set('content-type', 'application/json')
          .send('{"quantity":'),
        400,
        'MALFORMED_REQUEST',
      );
      expectProblem(
        await request(http.app)
          .put('/api/cart/lines/MUG-1')
          .set('authorization', token)
          .set('content-type', 'text/plain')
          .send('quantity=1'),
        415,
      );
      expectProblem(
        await request(http.app)
          .put('/api/cart/lines/MUG-1')
          .set('authorization', token)
          .send({ quantity: 1, pad: 'x'.repeat(200_000) }),
        413,
      );
      assert.equal(
        (await request(http.app).delete('/api/cart/lines/MUG-1').set('authorization', token))
          .status,
        200,
      );
      assert.equal(
        (await request(http.app).delete('/api/cart').set('authorization', token)).status,
        204,
      );
    });

    it('orders: place (202 + public Location), list, read, and 409/404 passed through', async () => {
      const alice = await bearer({ sub: 'alice' });
      const placed = await request(http.app).post('/api/orders').set('authorization', alice);
      assert.equal(placed.status, 202);
      assert.equal(placed.headers.location, '/api/orders/o-1');
      assert.deepEqual(lastCall('/orders/orders')?.body, { userId: 'alice' });
      assert.equal(placed.headers['idempotent-replayed'], undefined);
      const repeated = await request(http.app)
        .post('/api/orders')
        .set('authorization', alice)
        .set('idempotency-key', 'k-1');
      assert.equal(repeated.status, 202);
      assert.equal(lastCall('/orders/orders')?.headers['idempotency-key'], 'k-1');
      assert.equal(repeated.headers['idempotent-replayed'], 'true', 'passed on to the client');
      expectProblem(
        await request(http.app)
          .post('/api/orders')
          .set('authorization', await bearer({ sub: 'bob' })),
        409,
        'CART_EMPTY',
      );
      assert.equal(
        (await request(http.app).get('/api/orders').set('authorization', alice)).status,
        200,
      );
      assert.equal(lastCall('/orders/orders')?.url, '/orders/orders?userId=alice');
      assert.equal(
        (await request(http.app).get('/api/orders/o-1').set('authorization', alice)).status,
        200,
      );
      expectProblem(
        await request(http.app)
          .get('/api/orders/o-1')
          .set('authorization', await bearer({ sub: 'bob' })),
        404,
        'ORDER_NOT_FOUND',
      );
    });

    it("shipment and payment only of the caller's own order; notifications of the caller", async () => {
      const alice = await bearer({ sub: 'alice' });
      const shipment = await request(http.app)
        .get('/api/orders/o-1/shipment')
        .set('authorization', alice);
      assert.equal(shipment.status, 200);
      assert.equal((shipment.body as { trackingId: string }).trackingId, 'EMP1');
      const payment = await request(http.app)
        .get('/api/orders/o-1/payment')
        .set('authorization', alice);
      assert.equal((payment.body as { status: string }).status, 'AUTHORIZED');
      const before = services.calls.filter((call) => call.url.startsWith('/shipping')).length;
      const bob = await bearer({ sub: 'bob' });
      expectProblem(
        await request(http.app).get('/api/orders/o-1/shipment').set('authorization', bob),
        404,
        'ORDER_NOT_FOUND',
      );
      assert.equal(
        services.calls.filter((call) => call.url.startsWith('/shipping')).length,
        before,
      );
      const notes = await request(http.app).get('/api/notifications').set('authorization', alice);
      assert.equal(notes.status, 200);
      assert.equal(lastCall('/notifications')?.url, '/notifications/notifications?userId=alice');
    });

    it('admin: stock and product writes reach inventory and catalog with the identity', async () => {
      const admin = await bearer({ sub: 'ops-1', roles: ['admin'] });
      const stock = await request(http.app)
        .put('/api/stock/MUG-1')
        .set('authorization', admin)
        .send({ available: 12 });
      assert.equal(stock.status, 200);
      assert.equal(lastCall('/inventory/stock')?.headers.authorization, admin);
      const created = await request(http.app)
        .post('/api/products')
        .set('authorization', admin)
        .send({ ...MUG, sku: 'NEW-1' });
      assert.equal(created.status, 201);
      assert.equal(created.headers.location, '/api/products/p-new');
      expectProblem(
        await request(http.app).put('/api/products/p-none').set('authorization', admin).send(MUG),
        404,
      );
      // A body catalog would refuse never leaves the gateway: 400 with the field's path.
      const before = services.calls.length;
      const bad = await request(http.app)
        .post('/api/products')
        .set('authorization', admin)
        .send({ ...MUG, priceMinor: -1 });
      expectProblem(bad, 400);
      assert.equal(services.calls.length, before);
      assert.deepEqual(
        (bad.body as { errors: { path: string }[] }).errors.map((e) => e.path),
        ['body.priceMinor'],
      );
    });
  });

  describe('rate limits', () => {
    it('429 with Retry-After once a user’s bucket is empty, then per client IP', async () => {
      const limited = appFor(
        configSchema.parse(
          env({
            RATE_LIMIT_USER_CAPACITY: '3',
            RATE_LIMIT_USER_REFILL_PER_SECOND: '0.01',
            RATE_LIMIT_IP_CAPACITY: '5',
            RATE_LIMIT_IP_REFILL_PER_SECOND: '0.01',
            TRUST_PROXY: '1',
          }),
        ),
      );
      const token = await bearer({ sub: `rl-${String(Date.now())}` });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await request(limited.app)
          .get('/api/cart')
          .set('authorization', token)
          .set('x-forwarded-for', '198.51.100.1');
        statuses.push(response.status);
        if (response.status === 429) {
          expectProblem(response, 429, 'RATE_LIMITED');
          assert.ok(Number(response.headers['retry-after']) >= 1);
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);

      const anonymous: number[] = [];
      for (let i = 0; i < 6; i++) {
        anonymous.push(
          (await request(limited.app).get('/api/products').set('x-forwarded-for', '203.0.113.9'))
            .status,
        );
      }
      assert.deepEqual(anonymous, [200, 200, 200, 200, 200, 429]);
      // Another client is not affected.
      assert.equal(
        (await request(limited.app).get('/api/products').set('x-forwarded-for', '203.0.113.10'))
          .status,
        200,
      );
    });

    it('fails open when Redis is down, counting it', async () => {
      const deadRedis = createRedisClient({
        url: `redis://127.0.0.1:${String(await freePort())}`,
        logger,
      });
      try {
        const config = configSchema.parse(env());
        const appMetrics = createMetrics({ service: 'gateway', runtimeMetrics: false });
        const open = buildApp(config, {
          upstreams: createUpstreams(config, appMetrics, logger),
          rateLimits: rateLimitsRepository(deadRedis, {
            userCapacity: 1,
            userRefillPerSecond: 1,
            ipCapacity: 1,
            ipRefillPerSecond: 1,
          }),
          metrics: appMetrics,
          logger,
        });
        const token = await bearer({ sub: 'alice' });
        for (let i = 0; i < 3; i++) {
          assert.equal(
            (await request(open.app).get('/api/cart').set('authorization', token)).status,
            200,
          );
        }
        assert.match(
          await appMetrics.text('gateway_rate_limit_errors_total'),
          /scope="ip"[^}]*\} 3/,
        );
        assert.match(
          await appMetrics.text('gateway_rate_limit_errors_total'),
          /scope="user"[^}]*\} 3/,
        );
      } finally {
        deadRedis.disconnect();
      }
    });
  });

  describe('dev issuer', () => {
    let devApp: HttpApp;
    let server: Server;

    before(async () => {
      const port = await freePort();
      const config = configSchema.parse({
        ...env({ DEV_ISSUER_ENABLED: 'true', PORT: String(port) }),
        JWT_JWKS_URL: undefined,
        JWT_ISSUER: undefined,
        JWT_AUDIENCE: undefined,
      });
      assert.equal(
        config.JWT_JWKS_URL,
        `http://127.0.0.1:${String(port)}/dev/.well-known/jwks.json`,
      );
      const appMetrics = createMetrics({ service: 'gateway', runtimeMetrics: false });
      devApp = buildApp(config, {
        upstreams: createUpstreams(config, appMetrics, logger),
        rateLimits: rateLimitsRepository(redis, {
          userCapacity: 1000,
          userRefillPerSecond: 100,
          ipCapacity: 1000,
          ipRefillPerSecond: 100,
        }),
        metrics: appMetrics,
        logger,
        devIssuer: await createDevIssuer(DEV_ISSUER),
      });
      server = createServer(devApp.app);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    });
    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('mints tokens its own JWKS verifies; admin gets the admin role', async () => {
      const jwks = await request(devApp.app).get('/dev/.well-known/jwks.json');
      assert.equal((jwks.body as { keys: { kty: string }[] }).keys[0]?.kty, 'RSA');
      const mint = async (user: string) =>
        `Bearer ${((await request(devApp.app).post('/dev/token').send({ user })).body as { access_token: string }).access_token}`;
      const admin = await mint('admin');
      assert.equal(
        (
          await request(devApp.app)
            .put('/api/stock/MUG-1')
            .set('authorization', admin)
            .send({ available: 1 })
        ).status,
        200,
      );
      const alice = await mint('alice');
      assert.equal(
        (await request(devApp.app).get('/api/cart').set('authorization', alice)).status,
        200,
      );
      assert.equal(lastCall('/cart/carts/')?.url, '/cart/carts/alice');
      expectProblem(
        await request(devApp.app)
          .put('/api/stock/MUG-1')
          .set('authorization', alice)
          .send({ available: 1 }),
        403,
      );
      const shopper = await request(devApp.app)
        .post('/dev/token')
        .send({ user: 'shopper-17', expiresInSeconds: 90 });
      assert.equal((shopper.body as { expires_in: number }).expires_in, 90);
      const shopperToken = (shopper.body as { access_token: string }).access_token;
      assert.equal(
        (await request(devApp.app).get('/api/cart').set('authorization', `Bearer ${shopperToken}`))
          .status,
        200,
      );
      assert.equal(lastCall('/cart/carts/')?.url, '/cart/carts/shopper-17');
      for (const body of [{ user: 'Mallory!' }, { user: 'bob', expiresInSeconds: 0 }]) {
        expectProblem(
          await request(devApp.app).post('/dev/token').send(body),
          400,
          'VALIDATION_FAILED',
        );
      }
      // The main app trusts another issuer: a dev token means nothing there.
      expectProblem(await request(http.app).get('/api/cart').set('authorization', alice), 401);
    });

    it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones exercised above', async () => {
      const response = await request(devApp.app).get('/openapi.json');
      assert.equal(response.status, 200);
      await assertValidOpenApi(response.body);
      const paths = (
        response.body as {
          paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
        }
      ).paths;
      const documented = new Set<number>();
      for (const operations of Object.values(paths)) {
        for (const operation of Object.values(operations)) {
          for (const status of Object.keys(operation.responses)) {
            if (status.startsWith('4')) documented.add(Number(status));
          }
        }
      }
      assert.deepEqual([...documented].sort(), [...exercised].sort());
      assert.ok(paths['/api/products/{id}/page']);
      assert.ok(paths['/dev/token']);
    });
  });

  describe('storefront: its files, its settings and its spans', () => {
    let webRoot = '';
    /** One span, as the browser's OTLP/JSON exporter sends it. */
    const spans = (name: string) => ({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web' } }] },
          scopeSpans: [
            {
              scope: { name: 'storefront' },
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name,
                  kind: 1,
                  startTimeUnixNano: '1764590000000000000',
                  endTimeUnixNano: '1764590000100000000',
                },
              ],
            },
          ],
        },
      ],
    });

    before(async () => {
      webRoot = await tempDir('web-root');
      await mkdir(join(webRoot, 'assets'));
      await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>Emporium</title>');
      await writeFile(join(webRoot, 'assets', 'index-abc123.js'), 'export {};');
    });
    after(async () => {
      await rm(webRoot, { recursive: true, force: true });
    });

    it('serves the built storefront with its own CSP, and index.html for any page of it', async () => {
      const web = appFor(
        configSchema.parse(
          env({
            WEB_ROOT: webRoot,
            WEB_OIDC_AUTHORITY: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool',
            WEB_OIDC_CLIENT_ID: 'storefront',
            WEB_CONNECT_SRC: 'https://shop.auth.eu-west-1.amazoncognito.com',
          }),
        ),
      );
      for (const path of ['/', '/orders/o-1', '/products/p-1', '/cart']) {
        const page = await request(web.app).get(path).set('accept', 'text/html');
        assert.equal(page.status, 200, path);
        assert.match(page.text, /<title>Emporium<\/title>/, path);
        assert.equal(page.headers['cache-control'], 'no-cache');
        const csp = String(page.headers['content-security-policy']);
        assert.match(csp, /script-src 'self'(;|$)/);
        assert.match(
          csp,
          /connect-src 'self' https:\/\/cognito-idp\.eu-west-1\.amazonaws\.com https:\/\/shop\.auth\.eu-west-1\.amazoncognito\.com;/,
        );
        assert.match(csp, /frame-ancestors 'none'/);
        assert.doesNotMatch(csp, /unsafe/);
      }
      const asset = await request(web.app).get('/assets/index-abc123.js');
      assert.equal(asset.status, 200);
      assert.match(String(asset.headers['content-type']), /javascript/);
      assert.match(String(asset.headers['cache-control']), /immutable/);
      // A missing file, an API path and a JSON client are never given the page.
      expectProblem(await request(web.app).get('/assets/gone.js'), 404, 'NOT_FOUND');
      expectProblem(
        await request(web.app).get('/api/nothing').set('accept', 'text/html'),
        404,
        'NOT_FOUND',
      );
      expectProblem(
        await request(web.app).get('/orders/o-1').set('accept', 'application/json'),
        404,
      );
      // Without WEB_ROOT the gateway is an API only.
      expectProblem(await request(http.app).get('/').set('accept', 'text/html'), 404);
    });

    it('GET /config.json tells the storefront how to sign in and where its spans go', async () => {
      const local = await request(appFor(configSchema.parse(env())).app).get('/config.json');
      assert.equal(local.status, 200);
      assert.deepEqual(local.body, {
        auth: { mode: 'none' },
        tracesUrl: '/otlp/v1/traces',
        environment: 'local',
      });
      const dev = configSchema.parse({
        ...Object.fromEntries(Object.entries(env()).filter(([key]) => !key.startsWith('JWT_'))),
        DEV_ISSUER_ENABLED: 'true',
        TELEMETRY_ENABLED: 'false',
      });
      const devAnswer = await request(appFor(dev).app).get('/config.json');
      assert.deepEqual(devAnswer.body, {
        auth: { mode: 'dev' },
        tracesUrl: null,
        environment: 'local',
      });
      const oidc = await request(
        appFor(
          configSchema.parse(
            env({
              WEB_OIDC_AUTHORITY: 'https://id.example.test/realm',
              WEB_OIDC_CLIENT_ID: 'storefront',
              DEPLOYMENT_ENVIRONMENT: 'production',
            }),
          ),
        ).app,
      ).get('/config.json');
      assert.deepEqual(oidc.body, {
        auth: {
          mode: 'oidc',
          authority: 'https://id.example.test/realm',
          clientId: 'storefront',
          scope: 'openid profile',
        },
        tracesUrl: '/otlp/v1/traces',
        environment: 'production',
      });
      // Half an OIDC client is a configuration error, not a storefront that cannot sign in.
      const half = configSchema.safeParse(
        env({ WEB_OIDC_AUTHORITY: 'https://id.example.test/realm' }),
      );
      assert.ok(!half.success);
      assert.deepEqual(
        half.error.issues.map((issue) => issue.path.join('.')),
        ['WEB_OIDC_CLIENT_ID'],
      );
    });

    it('passes browser spans on to the collector; oversize is 413, junk 400, a flood 429, a broken collector 503', async () => {
      const traces = appFor(
        configSchema.parse(
          env({
            OTEL_EXPORTER_OTLP_ENDPOINT: `${base}/collector`,
            BROWSER_TRACES_MAX_BYTES: '2048',
            BROWSER_TRACES_CAPACITY: '3',
            BROWSER_TRACES_REFILL_PER_SECOND: '0.01',
            TRUST_PROXY: '1',
          }),
        ),
      );
      const client = `198.51.100.${String(Date.now() % 200)}`;
      const post = (body: unknown, ip = client) =>
        request(traces.app)
          .post('/otlp/v1/traces')
          .set('x-forwarded-for', ip)
          .set('content-type', 'application/json')
          .send(JSON.stringify(body));

      const ok = await post(spans('click checkout'));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const forwarded = lastCall('/collector/v1/traces');
      assert.ok(forwarded, 'the collector received the export');
      assert.deepEqual(forwarded.body, spans('click checkout'));

      const big = spans('x'.repeat(4000));
      expectProblem(await post(big, '198.51.100.250'), 413, 'PAYLOAD_TOO_LARGE');
      expectProblem(await post({ spans: [] }, '198.51.100.251'), 400, 'VALIDATION_FAILED');
      const text = await request(traces.app)
        .post('/otlp/v1/traces')
        .set('x-forwarded-for', '198.51.100.252')
        .set('content-type', 'application/x-protobuf')
        .send(Buffer.from([1, 2, 3]));
      expectProblem(text, 415);

      // The bucket of 3 is the client's: 1 taken above, 2 more, then 429.
      assert.equal((await post(spans('a'))).status, 200);
      assert.equal((await post(spans('b'))).status, 200);
      const flood = await post(spans('c'));
      expectProblem(flood, 429, 'RATE_LIMITED');
      assert.ok(Number(flood.headers['retry-after']) >= 1);

      const broken = appFor(
        configSchema.parse(env({ OTEL_EXPORTER_OTLP_ENDPOINT: `${base}/broken-collector` })),
      );
      const refused = await request(broken.app)
        .post('/otlp/v1/traces')
        .set('content-type', 'application/json')
        .send(JSON.stringify(spans('lost')));
      expectProblem(refused, 503, 'UNAVAILABLE');
      assert.ok(Number(refused.headers['retry-after']) >= 1);

      // Off with traces: no intake at all.
      const off = appFor(configSchema.parse(env({ TELEMETRY_ENABLED: 'false' })));
      expectProblem(
        await request(off.app)
          .post('/otlp/v1/traces')
          .set('content-type', 'application/json')
          .send(JSON.stringify(spans('off'))),
        404,
      );
    });
  });

  describe('process', () => {
    it('a start with a bad environment exits 78 naming each variable', async () => {
      const main = new URL('./main.ts', import.meta.url).pathname;
      const run = async (environment: Record<string, string>) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', '--conditions=development', main],
          {
            env: { PATH: process.env.PATH, ...environment },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const code = await new Promise((resolve) => child.once('exit', resolve));
        return { code, stderr };
      };
      const [bad, noJwt] = await Promise.all([
        run({
          PORT: 'x',
          REDIS_URL: 'http://r',
          UPSTREAM_CATALOG_URL: 'nope',
          JWT_ALGORITHMS: 'none',
        }),
        run(Object.fromEntries(Object.entries(env()).filter(([key]) => !key.startsWith('JWT_')))),
      ]);
      assert.equal(bad.code, 78);
      for (const variable of [
        'PORT',
        'REDIS_URL',
        'UPSTREAM_CATALOG_URL',
        'UPSTREAM_CART_URL',
        'JWT_ALGORITHMS',
      ]) {
        assert.match(bad.stderr, new RegExp(`^ {2}${variable}`, 'm'));
      }
      assert.equal(noJwt.code, 78);
      for (const variable of ['JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE']) {
        assert.match(
          noJwt.stderr,
          new RegExp(`^ {2}${variable}: required unless DEV_ISSUER_ENABLED`, 'm'),
        );
      }
    });

    it('starts with the dev issuer, logs one listening line, and exits 0 on SIGTERM', async () => {
      const main = new URL('./main.ts', import.meta.url).pathname;
      const port = await freePort();
      const environment = Object.fromEntries(
        Object.entries(env()).filter(([key]) => !key.startsWith('JWT_')),
      );
      const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=development', main], {
        env: {
          PATH: process.env.PATH,
          ...environment,
          PORT: String(port),
          DEV_ISSUER_ENABLED: 'true',
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      const listening = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('gateway listening')) resolve();
        });
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await Promise.race([listening, exited]);
      const token = await fetch(`http://127.0.0.1:${String(port)}/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'bob' }),
      }).then((r) => r.json() as Promise<{ access_token: string }>);
      const cart = await fetch(`http://127.0.0.1:${String(port)}/api/cart`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      });
      assert.equal(cart.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(
        stdout.split('\n').filter((line) => line.includes('gateway listening')).length,
        1,
      );
    });
  });
});
