import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertValidOpenApi,
  freePort,
  json,
  problem,
  runNodeScript,
  serviceMain,
  startHttpStub,
  startRedis,
  type HttpStub,
  type RedisServer,
} from '@emporium/harness';
import {
  createMetrics,
  createReadiness,
  createRedisClient,
  createUpstreamClient,
  pingRedis,
  waitForRedis,
  type HttpApp,
  type Metrics,
} from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import { MAX_LINES, setLine, type Cart } from './domain/cart.js';
import { catalogGateway } from './gateways/catalog.gateway.js';
import { cartKey, cartsRepository, type CartsRepository } from './repositories/carts.repository.js';

/** A product as catalog serves it. */
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

function product(sku: string, priceMinor: number, currency = 'EUR'): Product {
  return {
    id: `p-${sku.toLowerCase()}`,
    sku,
    name: `Product ${sku}`,
    description: 'A test product.',
    priceMinor,
    currency,
    categories: ['test'],
    images: [],
    updatedAt: '2026-11-27T10:00:00.000Z',
  };
}

/** How the test double of catalog behaves. */
type CatalogMode = 'up' | 'unavailable' | 'slow' | 'reset';

/**
 * A real HTTP server answering `GET /products?skus=` like catalog does; it can also answer 503,
 * be slower than the client's timeout, or drop the connection.
 */
async function startCatalog(products: Product[]): Promise<HttpStub & { mode: CatalogMode }> {
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const state = { mode: 'up' as CatalogMode };
  const stub = await startHttpStub({
    'GET /products': async ({ query }, res) => {
      if (state.mode === 'reset') {
        res.destroy();
        return;
      }
      if (state.mode === 'unavailable') {
        problem(res, 503, 'UNAVAILABLE', {}, { 'retry-after': '7' });
        return;
      }
      if (state.mode === 'slow') await sleep(1_000);
      const skus = (query.get('skus') ?? '').split(',').filter(Boolean);
      const items = skus.flatMap((sku) => bySku.get(sku) ?? []);
      json(res, 200, { items, total: items.length, limit: 20, offset: 0 });
    },
  });
  // The stub joins `state`, so a test's `catalog.mode = ...` is what the handler reads.
  return Object.assign(state, stub);
}

interface Problem {
  code: string;
  status: number;
  errors?: { path: string }[];
  [extension: string]: unknown;
}

interface CartBody {
  userId: string;
  lines: { sku: string; name: string; quantity: number; unitPriceMinor: number }[];
  currency: string;
  totalMinor: number;
  updatedAt: string;
}

describe('cart HTTP API', () => {
  const logger = pino({ level: 'silent' });
  let redisServer: RedisServer;
  let redis: Redis;
  let deadRedis: Redis;
  let catalog: Awaited<ReturnType<typeof startCatalog>>;
  let carts: CartsRepository;
  let metrics: Metrics;
  let http: HttpApp;
  let redisDown: HttpApp;
  let issuer: TokenIssuer;
  /** An admin's `Authorization`: what requests that are not about who calls carry. */
  let adminBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin, who may act for anyone. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);
  /** The 4xx statuses this file provoked, per documented operation (`get /carts/{userId}`). */
  const exercised = new Map<string, Set<string>>();

  /** Records a response's status against its operation, for the OpenAPI check at the end. */
  function seen(operation: string, response: { status: number }): void {
    const statuses = exercised.get(operation) ?? new Set<string>();
    statuses.add(String(response.status));
    exercised.set(operation, statuses);
  }

  const GET_CART = 'get /carts/{userId}';
  const DELETE_CART = 'delete /carts/{userId}';
  const PUT_LINE = 'put /carts/{userId}/lines/{sku}';
  const DELETE_LINE = 'delete /carts/{userId}/lines/{sku}';

  before(async () => {
    redisServer = await startRedis();
    issuer = await startTokenIssuer();
    adminBearer = await as('u-admin', ['admin']);
    catalog = await startCatalog([
      product('MUG-CER-350', 1250),
      product('TEA-EARL-100', 499),
      product('HAT-US-1', 2000, 'USD'),
      ...Array.from({ length: 12 }, (_, i) => product(`RACE-${String(i).padStart(2, '0')}`, 100)),
    ]);
    redis = createRedisClient({ url: redisServer.url });
    await waitForRedis(redis);
    deadRedis = createRedisClient({ url: `redis://127.0.0.1:${String(await freePort())}` });
    const config = configSchema.parse({
      ...issuer.env,
      REDIS_URL: redisServer.url,
      UPSTREAM_CATALOG_URL: catalog.url,
      HTTP_BODY_LIMIT: '1kb',
    });
    metrics = createMetrics({ service: 'cart', runtimeMetrics: false });
    const upstream = createUpstreamClient({
      name: 'catalog',
      baseUrl: catalog.url,
      timeoutMs: 300,
      retries: 1,
      backoffMs: 10,
      metrics,
      logger,
    });
    carts = cartsRepository(redis, { ttlSeconds: config.CART_TTL_SECONDS, metrics });
    http = buildApp(config, { carts, catalog: catalogGateway(upstream), metrics, logger });
    // The same service with its Redis down (nothing listens on the port).
    const readiness = createReadiness();
    readiness.register('redis', () => pingRedis(deadRedis));
    const downMetrics = createMetrics({ service: 'cart', runtimeMetrics: false });
    redisDown = buildApp(config, {
      carts: cartsRepository(deadRedis, { ttlSeconds: 60, metrics: downMetrics }),
      catalog: catalogGateway(upstream),
      metrics: downMetrics,
      logger,
      readiness,
    });
  });
  after(async () => {
    deadRedis.disconnect();
    await redis.quit();
    await catalog.stop();
    await issuer.stop();
    await redisServer.stop();
  });
  afterEach(() => {
    catalog.mode = 'up';
  });

  const putLine = (userId: string, sku: string, quantity: unknown) =>
    api().put(`/carts/${userId}/lines/${sku}`).send({ quantity });

  it('an unknown user has an empty cart in the default currency', async () => {
    const response = await api().get('/carts/u-new');
    seen(GET_CART, response);
    assert.equal(response.status, 200);
    const body = response.body as CartBody;
    assert.deepEqual(
      { ...body, updatedAt: undefined },
      { userId: 'u-new', lines: [], currency: 'EUR', totalMinor: 0, updatedAt: undefined },
    );
    assert.ok(!Number.isNaN(Date.parse(body.updatedAt)));
    assert.equal(await redis.exists(cartKey('u-new')), 0);
  });

  it('adds, updates and removes lines priced by the catalog, and clears the cart', async () => {
    let response = await putLine('u-1', 'MUG-CER-350', 2).set('authorization', await as('u-1'));
    seen(PUT_LINE, response);
    assert.equal(response.status, 200);
    assert.deepEqual((response.body as CartBody).lines, [
      { sku: 'MUG-CER-350', name: 'Product MUG-CER-350', quantity: 2, unitPriceMinor: 1250 },
    ]);
    assert.equal(
      catalog.calls.map((call) => `${call.method} ${call.url}`).at(-1),
      'GET /products?skus=MUG-CER-350',
    );

    await putLine('u-1', 'TEA-EARL-100', 3);
    response = await putLine('u-1', 'MUG-CER-350', 1);
    const cart = response.body as CartBody;
    assert.equal(response.status, 200);
    assert.deepEqual(
      cart.lines.map((line) => [line.sku, line.quantity]),
      [
        ['MUG-CER-350', 1],
        ['TEA-EARL-100', 3],
      ],
    );
    assert.equal(cart.currency, 'EUR');
    assert.equal(cart.totalMinor, 1250 + 3 * 499);
    assert.deepEqual((await api().get('/carts/u-1')).body, cart);
    // The TTL (7 days by default) starts again with every write.
    assert.ok((await redis.ttl(cartKey('u-1'))) > 7 * 24 * 3600 - 10);

    response = await api().delete('/carts/u-1/lines/MUG-CER-350');
    seen(DELETE_LINE, response);
    assert.equal(response.status, 200);
    assert.deepEqual(
      (response.body as CartBody).lines.map((line) => line.sku),
      ['TEA-EARL-100'],
    );
    assert.equal((response.body as CartBody).totalMinor, 3 * 499);
    // Removing a product the cart does not hold is no error.
    response = await api().delete('/carts/u-1/lines/MUG-CER-350');
    assert.equal(response.status, 200);
    assert.equal((response.body as CartBody).lines.length, 1);

    response = await api().delete('/carts/u-1');
    seen(DELETE_CART, response);
    assert.equal(response.status, 204);
    assert.equal(((await api().get('/carts/u-1')).body as CartBody).lines.length, 0);
    assert.equal((await api().delete('/carts/u-1')).status, 204);

    const counters = await request(http.app).get('/metrics');
    assert.match(counters.text, /^cart_lines_added_total\{[^}]*currency="EUR"[^}]*\} 2$/m);
    assert.match(counters.text, /^cart_lines_updated_total\{[^}]*currency="EUR"[^}]*\} 1$/m);
    assert.match(counters.text, /^cart_lines_removed_total\{[^}]*\} 1$/m);
    assert.match(counters.text, /^carts_cleared_total\{[^}]*\} 1$/m);
  });

  it('concurrent writes to one cart lose no line', async () => {
    const skus = Array.from({ length: 12 }, (_, i) => `RACE-${String(i).padStart(2, '0')}`);
    const responses = await Promise.all(skus.map((sku) => putLine('u-race', sku, 1)));
    assert.deepEqual(
      responses.map((r) => r.status),
      skus.map(() => 200),
    );
    const cart = (await api().get('/carts/u-race')).body as CartBody;
    assert.deepEqual(
      cart.lines.map((line) => line.sku),
      skus,
    );
  });

  it('400 for malformed JSON, wrong types, out-of-range quantities and malformed ids or skus', async () => {
    let response = await api()
      .put('/carts/u-1/lines/MUG-CER-350')
      .set('content-type', 'application/json')
      .send('{"quantity": ');
    seen(PUT_LINE, response);
    assert.equal(response.status, 400);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    assert.equal((response.body as Problem).code, 'MALFORMED_REQUEST');

    for (const [quantity, path] of [
      ['2', 'body.quantity'],
      [0, 'body.quantity'],
      [100, 'body.quantity'],
      [1.5, 'body.quantity'],
      [undefined, 'body.quantity'],
    ] as const) {
      response = await putLine('u-1', 'MUG-CER-350', quantity);
      assert.equal(response.status, 400, `quantity ${String(quantity)}`);
      assert.equal((response.body as Problem).code, 'VALIDATION_FAILED');
      assert.equal((response.body as Problem).errors?.[0]?.path, path);
    }

    response = await putLine('u-1', 'mug-lower', 1);
    assert.equal(response.status, 400);
    assert.equal((response.body as Problem).errors?.[0]?.path, 'params.sku');

    for (const [operation, method, path] of [
      [GET_CART, 'get', '/carts/not%20an%20id!'],
      [DELETE_CART, 'delete', '/carts/not%20an%20id!'],
      [DELETE_LINE, 'delete', '/carts/not%20an%20id!/lines/MUG-CER-350'],
      [DELETE_LINE, 'delete', '/carts/u-1/lines/bad%20sku'],
    ] as const) {
      response = await api()[method](path);
      seen(operation, response);
      assert.equal(response.status, 400, `${method} ${path}`);
      assert.equal((response.body as Problem).code, 'VALIDATION_FAILED');
      assert.match((response.body as Problem).errors?.[0]?.path ?? '', /^params\./);
    }
  });

  it("403 for another user's cart unless the caller is an admin", async () => {
    const calls = [
      [GET_CART, () => api().get('/carts/u-owner')],
      [PUT_LINE, () => putLine('u-owner', 'MUG-CER-350', 1)],
      [DELETE_LINE, () => api().delete('/carts/u-owner/lines/MUG-CER-350')],
      [DELETE_CART, () => api().delete('/carts/u-owner')],
    ] as const;
    for (const [operation, call] of calls) {
      const response = await call().set('authorization', await as('u-intruder', ['customer']));
      seen(operation, response);
      assert.equal(response.status, 403, operation);
      assert.equal((response.body as Problem).code, 'FORBIDDEN');
    }
    assert.equal(await redis.exists(cartKey('u-owner')), 0);
    const asAdmin = await putLine('u-owner', 'MUG-CER-350', 1).set(
      'authorization',
      await as('u-support', ['customer', 'admin']),
    );
    assert.equal(asAdmin.status, 200);
  });

  it('401 without a token or with forged identity headers, 403 for a service', async () => {
    const forged = { 'x-user-id': 'u-forged', 'x-user-roles': 'admin' };
    const service = `Bearer ${await issuer.serviceToken('some-service', 'cart')}`;
    const calls = [
      [GET_CART, () => request(http.app).get('/carts/u-forged')],
      [
        PUT_LINE,
        () => request(http.app).put('/carts/u-forged/lines/MUG-CER-350').send({ quantity: 1 }),
      ],
      [DELETE_LINE, () => request(http.app).delete('/carts/u-forged/lines/MUG-CER-350')],
      [DELETE_CART, () => request(http.app).delete('/carts/u-forged')],
    ] as const;
    const catalogCalls = catalog.calls.length;
    for (const [operation, call] of calls) {
      const anonymous = await call().set(forged);
      seen(operation, anonymous);
      assert.equal(anonymous.status, 401, operation);
      assert.equal((anonymous.body as Problem).code, 'TOKEN_REQUIRED', operation);
      assert.match(String(anonymous.headers['www-authenticate']), /^Bearer /);
      const fromService = await call().set('authorization', service);
      seen(operation, fromService);
      assert.equal(fromService.status, 403, operation);
      assert.equal((fromService.body as Problem).code, 'CALLER_NOT_ALLOWED', operation);
      const bad = await call().set('authorization', 'Bearer not.a.token');
      assert.equal(bad.status, 401, operation);
      assert.equal((bad.body as Problem).code, 'INVALID_TOKEN', operation);
    }
    assert.equal(catalog.calls.length, catalogCalls, 'the catalog was not asked');
    assert.equal(await redis.exists(cartKey('u-forged')), 0);
    // The owner's own token is enough.
    const own = await request(http.app)
      .put('/carts/u-forged/lines/MUG-CER-350')
      .set('authorization', await as('u-forged'))
      .send({ quantity: 1 });
    assert.equal(own.status, 200);
    const read = await request(http.app)
      .get('/carts/u-forged')
      .set('authorization', await as('u-forged'));
    assert.deepEqual(read.body, own.body);
  });

  it('404 UNKNOWN_SKU when the catalog does not know the sku', async () => {
    const response = await putLine('u-2', 'NO-SUCH-SKU', 1);
    seen(PUT_LINE, response);
    assert.equal(response.status, 404);
    assert.equal((response.body as Problem).code, 'UNKNOWN_SKU');
    assert.equal((response.body as Problem).sku, 'NO-SUCH-SKU');
    assert.equal(await redis.exists(cartKey('u-2')), 0);
  });

  it('409 CURRENCY_MISMATCH for a product in another currency than the cart', async () => {
    await putLine('u-3', 'MUG-CER-350', 1);
    const response = await putLine('u-3', 'HAT-US-1', 1);
    seen(PUT_LINE, response);
    assert.equal(response.status, 409);
    assert.deepEqual(
      [
        (response.body as Problem).code,
        (response.body as Problem).cartCurrency,
        (response.body as Problem).productCurrency,
      ],
      ['CURRENCY_MISMATCH', 'EUR', 'USD'],
    );
    // Once emptied, the cart takes the other currency.
    await api().delete('/carts/u-3/lines/MUG-CER-350');
    const usd = await putLine('u-3', 'HAT-US-1', 1);
    assert.equal(usd.status, 200);
    assert.equal((usd.body as CartBody).currency, 'USD');
  });

  it('409 CART_FULL for one product more than a cart holds', async () => {
    await carts.update('u-full', (cart) => {
      let full: Cart = cart;
      for (let i = 0; i < MAX_LINES; i++) {
        const sku = `FILL-${String(i)}`;
        const result = setLine(
          full,
          { sku, name: sku, priceMinor: 1, currency: 'EUR' },
          1,
          new Date(),
        );
        if (!result.ok) throw new Error(result.rejection.reason);
        full = result.cart;
      }
      return full;
    });
    const response = await putLine('u-full', 'MUG-CER-350', 1);
    seen(PUT_LINE, response);
    assert.equal(response.status, 409);
    assert.equal((response.body as Problem).code, 'CART_FULL');
    assert.equal((response.body as Problem).maxLines, MAX_LINES);
  });

  it('413 for a body over the limit, 415 for a body that is not JSON', async () => {
    let response = await api()
      .put('/carts/u-1/lines/MUG-CER-350')
      .send({ quantity: 1, padding: 'x'.repeat(2_000) });
    seen(PUT_LINE, response);
    assert.equal(response.status, 413);
    assert.equal((response.body as Problem).code, 'PAYLOAD_TOO_LARGE');

    response = await api()
      .put('/carts/u-1/lines/MUG-CER-350')
      .set('content-type', 'text/plain')
      .send('quantity=1');
    seen(PUT_LINE, response);
    assert.equal(response.status, 415);
    assert.equal((response.body as Problem).code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a catalog that is down or slow is a 503/504 and leaves the cart unchanged', async () => {
    await putLine('u-4', 'MUG-CER-350', 1);
    const before = await redis.hgetall(cartKey('u-4'));

    catalog.mode = 'unavailable';
    let response = await putLine('u-4', 'TEA-EARL-100', 1);
    assert.equal(response.status, 503);
    assert.equal((response.body as Problem).code, 'UNAVAILABLE');
    assert.equal(response.headers['retry-after'], '7');

    catalog.mode = 'reset';
    response = await putLine('u-4', 'TEA-EARL-100', 1);
    assert.equal(response.status, 503);
    assert.equal((response.body as Problem).code, 'UNAVAILABLE');
    assert.ok(Number(response.headers['retry-after']) > 0);

    catalog.mode = 'slow';
    response = await putLine('u-4', 'MUG-CER-350', 5);
    assert.equal(response.status, 504);
    assert.equal((response.body as Problem).code, 'UPSTREAM_TIMEOUT');

    assert.deepEqual(await redis.hgetall(cartKey('u-4')), before);
  });

  it('a Redis that is down is a 503 with Retry-After and fails readiness', async () => {
    for (const call of [
      () => api(redisDown.app).get('/carts/u-5'),
      () => api(redisDown.app).put('/carts/u-5/lines/MUG-CER-350').send({ quantity: 1 }),
      () => api(redisDown.app).delete('/carts/u-5/lines/MUG-CER-350'),
      () => api(redisDown.app).delete('/carts/u-5'),
    ]) {
      const response = await call();
      assert.equal(response.status, 503);
      assert.match(String(response.headers['content-type']), /application\/problem\+json/);
      assert.equal((response.body as Problem).code, 'UNAVAILABLE');
      assert.equal(response.headers['retry-after'], '5');
    }
    const ready = await request(redisDown.app).get('/readyz');
    assert.equal(ready.status, 503);
    assert.deepEqual((ready.body as { failing: string[] }).failing, ['redis']);
  });

  it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones tested above', async () => {
    const response = await request(http.app).get('/openapi.json');
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
        const statuses = Object.keys(operation.responses).filter((s) => s.startsWith('4'));
        documented.set(`${method} ${path}`, statuses.sort());
      }
    }
    assert.deepEqual(
      [...documented.keys()].sort(),
      [DELETE_CART, DELETE_LINE, GET_CART, PUT_LINE].sort(),
    );
    for (const [operation, statuses] of documented) {
      assert.deepEqual(
        statuses,
        [...(exercised.get(operation) ?? [])].filter((s) => s.startsWith('4')).sort(),
        operation,
      );
    }
    assert.deepEqual(documented.get(PUT_LINE), ['400', '401', '403', '404', '409', '413', '415']);
    for (const operation of [GET_CART, DELETE_CART, DELETE_LINE]) {
      assert.deepEqual(documented.get(operation), ['400', '401', '403'], operation);
    }
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, {
      PORT: 'x',
      REDIS_URL: 'http://cache',
      CART_TTL_SECONDS: 'forever',
      UPSTREAM_RETRIES: '9',
    });
    assert.equal(code, 78);
    for (const variable of [
      'PORT',
      'REDIS_URL',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'UPSTREAM_CATALOG_URL',
      'CART_TTL_SECONDS',
      'UPSTREAM_RETRIES',
    ]) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });

  it('starts with the documented variables, logs once when listening and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, serviceMain('cart').args, {
      cwd: new URL('..', import.meta.url).pathname,
      env: {
        ...issuer.env,
        PATH: process.env.PATH,
        OTEL_SERVICE_NAME: 'cart',
        TELEMETRY_ENABLED: 'false',
        PORT: String(port),
        REDIS_URL: redisServer.url,
        UPSTREAM_CATALOG_URL: catalog.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const lines: { msg?: string }[] = [];
    const listening = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg?: string };
        lines.push(entry);
        if (entry.msg === 'cart listening') resolve();
      });
      void exited.then(() => {
        reject(new Error('cart exited before listening'));
      });
    });
    await listening;
    const ready = await fetch(`http://127.0.0.1:${String(port)}/readyz`);
    assert.equal(ready.status, 200);
    const put = await fetch(`http://127.0.0.1:${String(port)}/carts/u-proc/lines/TEA-EARL-100`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: await as('u-proc') },
      body: JSON.stringify({ quantity: 2 }),
    });
    assert.equal(put.status, 200);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(lines.filter((entry) => entry.msg === 'cart listening').length, 1);
  });
});
