import assert from 'node:assert/strict';
import {
  assertValidOpenApi,
  freePort,
  runNodeScript,
  startMongo,
  startRedis,
  type MongoServer,
  type RedisServer,
} from '@emporium/harness';
import {
  createMetrics,
  createRedisClient,
  waitForRedis,
  type HttpApp,
  type Metrics,
} from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import type { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import type { Product } from './domain/product.js';
import { seedProducts } from './domain/seed-catalogue.js';
import { productCache } from './repositories/product-cache.repository.js';
import { productsRepository, type ProductsRepository } from './repositories/products.repository.js';

interface Problem {
  code: string;
  errors?: { path: string }[];
}
interface Page {
  items: Product[];
  total: number;
  limit: number;
  offset: number;
}

const logger = pino({ level: 'silent' });
const newProduct = {
  sku: 'MUG-TST-001',
  name: 'Test Mug (Large)',
  description: 'A mug for tests, 50% larger.',
  priceMinor: 1990,
  currency: 'EUR',
  categories: ['mugs', 'test'],
  images: ['/images/MUG-TST-001.jpg'],
};

/** cache_requests_total{cache="products", result} as seen by one registry. */
async function cacheRequests(metrics: Metrics, result: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric('cache_requests');
  const values = metric ? (await metric.get()).values : [];
  return (
    values.find((v) => v.labels.cache === 'products' && v.labels.result === result)?.value ?? 0
  );
}

/** Asserts a problem response with this status and code; returns its body. */
function assertProblem(response: request.Response, status: number, code: string): Problem {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.match(String(response.headers['content-type']), /application\/problem\+json/);
  const body = response.body as Problem;
  assert.equal(body.code, code);
  return body;
}

describe('catalog HTTP API', () => {
  let mongo: MongoServer;
  let redisServer: RedisServer;
  let client: MongoClient;
  let redis: Redis;
  let products: ProductsRepository;
  let metrics: Metrics;
  let http: HttpApp;
  let seeded: Product[];
  let issuer: TokenIssuer;
  /** An admin's `Authorization`: what catalogue writes carry. */
  let adminBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);
  const config = (env: Record<string, string>) =>
    configSchema.parse({
      ...issuer.env,
      KAFKA_BROKERS: '127.0.0.1:1',
      MONGO_URL: 'mongodb://x',
      ...env,
    });
  /** Status codes exercised per operation, compared with the OpenAPI document at the end. */
  const exercised = new Map<string, Set<number>>();
  const saw = (operation: string, status: number): void => {
    const set = exercised.get(operation) ?? new Set<number>();
    set.add(status);
    exercised.set(operation, set);
  };

  before(async () => {
    [mongo, redisServer] = await Promise.all([startMongo(), startRedis()]);
    issuer = await startTokenIssuer();
    adminBearer = await as('u-admin', ['admin']);
    client = new MongoClient(mongo.url);
    products = productsRepository(client.db('catalog_api_test'));
    await products.ensureIndexes();
    seeded = seedProducts(new Date());
    assert.equal(await products.seedIfEmpty(seeded), seeded.length);
    redis = createRedisClient({ url: redisServer.url, logger });
    await waitForRedis(redis);
    metrics = createMetrics({ service: 'catalog', runtimeMetrics: false });
    http = buildApp(config({ MONGO_URL: mongo.url, REDIS_URL: redisServer.url }), {
      products,
      cache: productCache({ redis, ttlSeconds: 60, metrics, logger }),
      metrics,
      logger,
    });
  });
  after(async () => {
    redis.disconnect();
    await client.close();
    await issuer.stop();
    await Promise.all([mongo.stop(), redisServer.stop()]);
  });

  describe('GET /products', () => {
    it('pages through the whole catalogue in SKU order', async () => {
      const first = await request(http.app).get('/products');
      assert.equal(first.status, 200);
      const page = first.body as Page;
      assert.equal(page.total, seeded.length);
      assert.equal(page.limit, 20);
      assert.equal(page.offset, 0);
      assert.equal(page.items.length, 20);
      const all: Product[] = [];
      for (let offset = 0; offset < page.total; offset += 15) {
        const response = await request(http.app).get(`/products?limit=15&offset=${String(offset)}`);
        all.push(...(response.body as Page).items);
      }
      const skus = all.map((p) => p.sku);
      assert.deepEqual(skus, seeded.map((p) => p.sku).sort());
      const mug = all.find((p) => p.sku === 'MUG-CER-350');
      assert.deepEqual(
        mug,
        seeded.find((p) => p.sku === 'MUG-CER-350'),
      );
      saw('GET /products', 200);
    });

    it('filters by category and searches name and description, case-insensitively', async () => {
      const notebooks = (await request(http.app).get('/products?category=notebooks')).body as Page;
      assert.ok(notebooks.total >= 4);
      assert.ok(notebooks.items.every((p) => p.categories.includes('notebooks')));

      const byName = (await request(http.app).get('/products?q=STONEWARE')).body as Page;
      assert.ok(byName.items.some((p) => p.sku === 'MUG-CER-350'));
      assert.ok(byName.items.every((p) => /stoneware/i.test(p.name + p.description)));
      // Only the description of the grinder says "espresso fine".
      const byDescription = (await request(http.app).get('/products?q=espresso%20FINE'))
        .body as Page;
      assert.deepEqual(
        byDescription.items.map((p) => p.sku),
        ['BRW-GRD-BUR-01'],
      );
      const both = (await request(http.app).get('/products?q=mug&category=gifts')).body as Page;
      assert.deepEqual(
        both.items.map((p) => p.sku),
        ['GFT-BOX-COF-01'],
      );
    });

    it('matches regex syntax in the search text literally', async () => {
      const literal = (await request(http.app).get(`/products?q=${encodeURIComponent('1 l')}`))
        .body as Page;
      assert.ok(literal.total > 0);
      for (const q of ['(', '.*', '[a-', 'a{1000}{1000}', '\\']) {
        const response = await request(http.app).get(`/products?q=${encodeURIComponent(q)}`);
        assert.equal(response.status, 200, q);
        assert.equal((response.body as Page).total, 0, q);
      }
      const blank = (await request(http.app).get('/products?q=')).body as Page;
      assert.equal(blank.total, seeded.length);
    });

    it('returns exactly the existing products of a SKU list, all of them', async () => {
      const wanted = seeded.slice(0, 25).map((p) => p.sku);
      const response = await request(http.app).get(
        `/products?skus=${[...wanted, 'NOPE-404'].join(',')}`,
      );
      assert.equal(response.status, 200);
      const page = response.body as Page;
      assert.equal(page.total, 25);
      assert.equal(page.items.length, 25, 'a batch lookup is not cut at the default 20');
      assert.deepEqual(page.items.map((p) => p.sku).sort(), [...wanted].sort());
      const none = (await request(http.app).get('/products?skus=NOPE-404')).body as Page;
      assert.deepEqual(none, { items: [], total: 0, limit: 1, offset: 0 });
    });

    it('400 with field paths for a bad limit, offset or SKU list', async () => {
      const response = await request(http.app).get('/products?limit=0&offset=-1&skus=bad%20sku');
      const body = assertProblem(response, 400, 'VALIDATION_FAILED');
      const paths = (body.errors ?? []).map((e) => e.path).sort();
      assert.deepEqual(paths, ['query.limit', 'query.offset', 'query.skus[0]']);
      assertProblem(await request(http.app).get('/products?limit=101'), 400, 'VALIDATION_FAILED');
      assertProblem(await request(http.app).get('/products?limit=ten'), 400, 'VALIDATION_FAILED');
      saw('GET /products', 400);
    });
  });

  describe('GET /products/:id', () => {
    it('misses, reads MongoDB and caches; then serves from Redis', async () => {
      const mug = seeded.find((p) => p.sku === 'MUG-ENM-NVY-300');
      assert.ok(mug);
      const [misses, hits] = [
        await cacheRequests(metrics, 'miss'),
        await cacheRequests(metrics, 'hit'),
      ];
      const first = await request(http.app).get(`/products/${mug.id}`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, mug);
      assert.deepEqual(JSON.parse((await redis.get(`cache:products:${mug.id}`)) ?? 'null'), mug);
      assert.ok((await redis.ttl(`cache:products:${mug.id}`)) > 0);
      const second = await request(http.app).get(`/products/${mug.id}`);
      assert.deepEqual(second.body, mug);
      assert.equal(await cacheRequests(metrics, 'miss'), misses + 1);
      assert.equal(await cacheRequests(metrics, 'hit'), hits + 1);
      // Proof the hit came from Redis: change the cached copy behind the service's back.
      await redis.set(`cache:products:${mug.id}`, JSON.stringify({ ...mug, name: 'From Redis' }));
      assert.equal(
        ((await request(http.app).get(`/products/${mug.id}`)).body as Product).name,
        'From Redis',
      );
      await redis.del(`cache:products:${mug.id}`);
      saw('GET /products/{id}', 200);
    });

    it('404 PRODUCT_NOT_FOUND for an unknown id, which is not cached', async () => {
      assertProblem(await request(http.app).get('/products/no-such-id'), 404, 'PRODUCT_NOT_FOUND');
      assert.equal(await redis.exists('cache:products:no-such-id'), 0);
      saw('GET /products/{id}', 404);
    });

    it('400 with the field path for a malformed id', async () => {
      const body = assertProblem(
        await request(http.app).get('/products/not%20an%20id!'),
        400,
        'VALIDATION_FAILED',
      );
      assert.equal(body.errors?.[0]?.path, 'params.id');
      saw('GET /products/{id}', 400);
    });

    it('reads MongoDB when Redis is down, counting the cache errors', async () => {
      // A real client pointed at a port nobody listens on: Redis is down for this app.
      const deadRedis = createRedisClient({
        url: `redis://127.0.0.1:${String(await freePort())}`,
        logger,
      });
      const degradedMetrics = createMetrics({ service: 'catalog', runtimeMetrics: false });
      const degraded = buildApp(config({ MONGO_URL: mongo.url, REDIS_URL: 'redis://dead:1' }), {
        products,
        cache: productCache({ redis: deadRedis, ttlSeconds: 60, metrics: degradedMetrics, logger }),
        metrics: degradedMetrics,
        logger,
      });
      try {
        const product = seeded[3];
        assert.ok(product);
        const response = await request(degraded.app).get(`/products/${product.id}`);
        assert.equal(response.status, 200);
        assert.deepEqual(response.body, product);
        assert.equal(await cacheRequests(degradedMetrics, 'error'), 1);
        assertProblem(await request(degraded.app).get('/products/gone'), 404, 'PRODUCT_NOT_FOUND');
      } finally {
        deadRedis.disconnect();
      }
    });
  });

  describe('POST /products', () => {
    it('creates a product for an admin: 201, Location, and a ProductUpdated in its outbox', async () => {
      const response = await api().post('/products').send(newProduct);
      assert.equal(response.status, 201);
      const product = response.body as Product;
      assert.deepEqual(
        { ...product, id: '', updatedAt: '' },
        { ...newProduct, id: '', updatedAt: '' },
      );
      assert.equal(response.headers.location, `/products/${product.id}`);
      const fetched = await request(http.app).get(response.headers.location);
      assert.deepEqual(fetched.body, product);
      const stored = await products.collection.findOne({ id: product.id });
      assert.equal(stored?.outboxPending, 1);
      assert.deepEqual(stored.outbox?.[0]?.data, {
        productId: product.id,
        sku: 'MUG-TST-001',
        name: 'Test Mug (Large)',
        priceMinor: 1990,
        currency: 'EUR',
        categories: ['mugs', 'test'],
        updatedAt: product.updatedAt,
      });
      assert.equal(stored.outbox[0].key, product.id);
      assert.match(
        await metrics.text('catalog_product_changes_total'),
        /change="created",service="catalog"\} 1$/m,
      );
      saw('POST /products', 201);
    });

    it('409 SKU_EXISTS for a SKU already in the catalogue', async () => {
      const response = await api()
        .post('/products')
        .send({ ...newProduct, name: 'Another' });
      assertProblem(response, 409, 'SKU_EXISTS');
      assert.equal(await products.collection.countDocuments({ sku: newProduct.sku }), 1);
      saw('POST /products', 409);
    });

    it('401 without a token, 403 without the admin role, before the body is looked at', async () => {
      assertProblem(
        await request(http.app).post('/products').send(newProduct),
        401,
        'TOKEN_REQUIRED',
      );
      assertProblem(
        await request(http.app)
          .post('/products')
          .set('authorization', await as('u-1', ['customer']))
          .set('content-type', 'application/json')
          .send('{not json'),
        403,
        'ADMIN_REQUIRED',
      );
      saw('POST /products', 401);
      saw('POST /products', 403);
    });

    it('400 for malformed JSON and for wrong types, with field paths', async () => {
      const malformed = await api()
        .post('/products')
        .set('content-type', 'application/json')
        .send('{"sku": ');
      assertProblem(malformed, 400, 'MALFORMED_REQUEST');
      const wrong = await api()
        .post('/products')
        .send({ ...newProduct, sku: 'lower case', priceMinor: 9.99, currency: 'euro', name: ' ' });
      const body = assertProblem(wrong, 400, 'VALIDATION_FAILED');
      assert.deepEqual((body.errors ?? []).map((e) => e.path).sort(), [
        'body.currency',
        'body.name',
        'body.priceMinor',
        'body.sku',
      ]);
      saw('POST /products', 400);
    });

    it('413 for a body over the limit, 415 for a body that is not JSON', async () => {
      const huge = { ...newProduct, sku: 'BIG-1', description: 'x'.repeat(200_000) };
      assertProblem(await api().post('/products').send(huge), 413, 'PAYLOAD_TOO_LARGE');
      assertProblem(
        await api().post('/products').set('content-type', 'text/plain').send('sku=X'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      saw('POST /products', 413);
      saw('POST /products', 415);
    });
  });

  describe('PUT /products/:id', () => {
    it('replaces a product, invalidates its cache entry and appends a ProductUpdated', async () => {
      const target = seeded.find((p) => p.sku === 'STN-PEN-FTN-F');
      assert.ok(target);
      await request(http.app).get(`/products/${target.id}`); // now cached
      assert.equal(await redis.exists(`cache:products:${target.id}`), 1);
      const { id: _id, updatedAt: _at, sku: _sku, ...fields } = target;
      const response = await api()
        .put(`/products/${target.id}`)
        .send({ ...fields, priceMinor: 2990 });
      assert.equal(response.status, 200);
      const updated = response.body as Product;
      assert.equal(updated.priceMinor, 2990);
      assert.equal(updated.sku, target.sku);
      assert.ok(updated.updatedAt > target.updatedAt);
      assert.equal(await redis.exists(`cache:products:${target.id}`), 0);
      assert.deepEqual((await request(http.app).get(`/products/${target.id}`)).body, updated);
      const stored = await products.collection.findOne({ id: target.id });
      assert.equal(stored?.outboxPending, 2);
      assert.equal((stored.outbox?.[1]?.data as { priceMinor: number }).priceMinor, 2990);
      saw('PUT /products/{id}', 200);

      // The product read back (with its id, SKU and timestamp) is a valid replacement; an
      // unchanged one writes nothing and publishes nothing.
      const again = await api().put(`/products/${target.id}`).send(updated);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, updated);
      assert.equal((await products.collection.findOne({ id: target.id }))?.outboxPending, 2);
    });

    it('concurrent replacements are applied one after another, each with its event', async () => {
      const target = seeded.find((p) => p.sku === 'STN-PCL-HB-12');
      assert.ok(target);
      const before = await products.collection.findOne({ id: target.id });
      const responses = await Promise.all(
        [1001, 1002].map((priceMinor) =>
          api()
            .put(`/products/${target.id}`)
            .send({ ...target, priceMinor }),
        ),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, 200],
      );
      const after = await products.collection.findOne({ id: target.id });
      assert.ok(before && after);
      assert.equal(after.version, before.version + 2);
      assert.equal(after.outboxPending, (before.outboxPending ?? 0) + 2);
      // The stored state is the last event's state: consumers end where the database is.
      const last = after.outbox?.at(-1)?.data as { priceMinor: number };
      assert.equal(last.priceMinor, after.priceMinor);
    });

    it('409 SKU_IMMUTABLE when the SKU would change', async () => {
      const target = seeded[0];
      assert.ok(target);
      const response = await api()
        .put(`/products/${target.id}`)
        .send({ ...target, sku: 'OTHER-SKU' });
      assertProblem(response, 409, 'SKU_IMMUTABLE');
      saw('PUT /products/{id}', 409);
    });

    it('404 PRODUCT_NOT_FOUND for an unknown id', async () => {
      assertProblem(
        await api().put('/products/no-such-id').send(newProduct),
        404,
        'PRODUCT_NOT_FOUND',
      );
      saw('PUT /products/{id}', 404);
    });

    it('401, 403, 400, 413 and 415 as for POST', async () => {
      const path = `/products/${seeded[1]?.id ?? ''}`;
      assertProblem(await request(http.app).put(path).send(newProduct), 401, 'TOKEN_REQUIRED');
      assertProblem(
        await request(http.app)
          .put(path)
          .set('authorization', await as('u-1'))
          .send(newProduct),
        403,
        'ADMIN_REQUIRED',
      );
      assertProblem(
        await api().put(path).set('content-type', 'application/json').send('[1,'),
        400,
        'MALFORMED_REQUEST',
      );
      const wrong = assertProblem(
        await api()
          .put('/products/bad%20id')
          .send({ ...newProduct, categories: 'mugs' }),
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual((wrong.errors ?? []).map((e) => e.path).sort(), [
        'body.categories',
        'params.id',
      ]);
      assertProblem(
        await api()
          .put(path)
          .send({ ...newProduct, description: 'x'.repeat(200_000) }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      assertProblem(
        await api().put(path).set('content-type', 'text/csv').send('a,b'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      for (const status of [400, 401, 403, 413, 415]) saw('PUT /products/{id}', status);
    });
  });

  describe('callers', () => {
    it('401 for writes without a token or with forged identity headers, 403 for a service', async () => {
      const target = seeded[2];
      assert.ok(target);
      const forged = { 'x-user-id': 'u-forger', 'x-user-roles': 'admin' };
      const service = `Bearer ${await issuer.serviceToken('some-service', 'catalog')}`;
      const forgedProduct = { ...newProduct, sku: 'FORGED-1' };
      const calls = [
        ['POST /products', () => request(http.app).post('/products').send(forgedProduct)],
        [
          'PUT /products/{id}',
          () =>
            request(http.app)
              .put(`/products/${target.id}`)
              .send({ ...target, priceMinor: 1 }),
        ],
      ] as const;
      for (const [operation, call] of calls) {
        const anonymous = await call().set(forged);
        assertProblem(anonymous, 401, 'TOKEN_REQUIRED');
        assert.match(String(anonymous.headers['www-authenticate']), /^Bearer /);
        saw(operation, anonymous.status);
        assertProblem(await call().set('authorization', service), 403, 'CALLER_NOT_ALLOWED');
        saw(operation, 403);
      }
      assert.equal(await products.collection.countDocuments({ sku: 'FORGED-1' }), 0);
      assert.equal(
        (await products.collection.findOne({ id: target.id }))?.priceMinor,
        target.priceMinor,
      );
    });

    it('reads answer anyone without a token, and 401 for a bad one', async () => {
      const target = seeded[2];
      assert.ok(target);
      const forged = { 'x-user-id': 'u-forger', 'x-user-roles': 'admin' };
      for (const [operation, path] of [
        ['GET /products', '/products?limit=1'],
        ['GET /products/{id}', `/products/${target.id}`],
      ] as const) {
        assert.equal((await request(http.app).get(path)).status, 200, operation);
        assert.equal((await request(http.app).get(path).set(forged)).status, 200, operation);
        assert.equal((await api().get(path)).status, 200, operation);
        const bad = await request(http.app).get(path).set('authorization', 'Bearer not.a.token');
        assertProblem(bad, 401, 'INVALID_TOKEN');
        saw(operation, bad.status);
      }
    });
  });

  // Last (mocha runs a suite's own tests before its nested suites): these look back at them all.
  describe('after the above', () => {
    it('reports the catalogue size and changes as business metrics', async () => {
      const text = (await request(http.app).get('/metrics')).text;
      assert.match(
        text,
        new RegExp(`^catalog_products\\{service="catalog"\\} ${String(seeded.length + 1)}$`, 'm'),
      );
      assert.match(
        text,
        /^catalog_product_changes_total\{change="updated",service="catalog"\} 3$/m,
      );
      assert.match(
        text,
        /^cache_requests_total\{cache="products",result="hit",service="catalog"\} \d+$/m,
      );
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
          documented.set(
            `${method.toUpperCase()} ${path}`,
            Object.keys(operation.responses)
              .filter((s) => s.startsWith('4'))
              .sort(),
          );
        }
      }
      const tested = new Map(
        [...exercised].map(([operation, statuses]) => [
          operation,
          [...statuses]
            .filter((s) => s >= 400 && s < 500)
            .map(String)
            .sort(),
        ]),
      );
      assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(tested));
    });
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, {
      PORT: 'x',
      MONGO_URL: 'http://db',
      REDIS_URL: 'localhost:6379',
      CATALOG_SEED: 'maybe',
      CATALOG_CACHE_TTL_SECONDS: '0',
    });
    assert.equal(code, 78);
    for (const variable of [
      'PORT',
      'MONGO_URL',
      'KAFKA_BROKERS',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'REDIS_URL',
      'CATALOG_SEED',
      'CATALOG_CACHE_TTL_SECONDS',
    ]) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });
});
