import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { call, eventually, freePort, repoRoot, runNodeScript, tempDir } from '@emporium/harness';
import {
  freeStackPorts,
  registerScrapeTarget,
  SERVICES,
  startStack,
  type Stack,
  type StackPorts,
} from '@emporium/scripts/stack';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { traceSpans, type SeenSpan } from './jaeger-trace.js';

/** The gateway's per-user bucket in this run: small, so a burst reaches it quickly. */
const USER_CAPACITY = 20;

interface Product {
  id: string;
  sku: string;
  name: string;
  priceMinor: number;
}
interface ProductView {
  product: Product;
  stock: { available: number } | null;
}
interface Cart {
  lines: { sku: string; quantity: number; unitPriceMinor: number }[];
  totalMinor: number;
}
interface Order {
  orderId: string;
  status: 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';
  trackingId?: string;
}
interface Problem {
  status: number;
  code: string;
}
/** The parts of a service's OpenAPI document read here. */
interface OpenApi {
  paths: Record<
    string,
    Record<string, { security?: unknown[]; 'x-access'?: 'user' | 'admin' | 'services' }>
  >;
}

/** The services the checkout passes through (HTTP), each behind its sidecar. */
const CHECKOUT_PATH = ['gateway', 'orders', 'cart', 'catalog', 'inventory'];
/** Kafka hops of the saga: each topic's producer and one consumer that must follow it. */
const KAFKA_HOPS = [
  { topic: 'orders.v1', producer: 'orders', consumer: 'payments' },
  { topic: 'payments.v1', producer: 'payments', consumer: 'shipping' },
  { topic: 'shipments.v1', producer: 'shipping', consumer: 'orders' },
];

describe('e2e: the whole stack, as a client sees it', function () {
  this.timeout(600_000);
  let stack: Stack;
  let ports: StackPorts;
  let dataDir: string;
  let gateway: string;
  let expiredToken = '';
  let expiredAt = 0;
  /** The W3C trace the shopper's checkout runs in (the client starts it). */
  const traceId = randomBytes(16).toString('hex');
  let orderId = '';

  const token = async (user: string, expiresInSeconds?: number): Promise<string> => {
    const { body } = await call<{ access_token: string }>(`${gateway}/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ user, ...(expiresInSeconds ? { expiresInSeconds } : {}) }),
      expect: 200,
    });
    return body.access_token;
  };

  before(async function () {
    ports = await freeStackPorts();
    stack = await startStack({
      ports,
      dataDir: (dataDir = await tempDir('e2e-data')),
      logLevel: 'warn',
      scrapeInterval: '1s',
      env: {
        // The happy path must be deterministic: no declined payments in this run.
        payments: { PSP_DECLINE_RATE: '0' },
        gateway: {
          RATE_LIMIT_USER_CAPACITY: String(USER_CAPACITY),
          RATE_LIMIT_USER_REFILL_PER_SECOND: '1',
        },
      },
    });
    assert.ok(stack.gatewayUrl);
    gateway = stack.gatewayUrl;
    // Minted now, refused later: it outlives its second of validity and the verifier's 5 s
    // clock tolerance while the shopper shops.
    expiredToken = await token('e2e-late', 1);
    expiredAt = Date.now() + 1000;
  });

  after(async function () {
    await stack.stop();
    // Kafka's and FerretDB's files of this run.
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a shopper with a token browses, fills a cart, checks out (safely twice) and sees the order SHIPPED', async function () {
    const bearer = { authorization: `Bearer ${await token('e2e-shopper')}` };

    // Browse anonymously: a page of the catalogue, then a search for a word of one name.
    const { body: page } = await call<{ items: Product[] }>(`${gateway}/api/products?limit=6`, {
      expect: 200,
    });
    assert.equal(page.items.length, 6);
    const word = page.items[0]?.name.split(/\W+/).find((w) => w.length > 4) ?? '';
    const { body: found } = await call<{ items: Product[] }>(
      `${gateway}/api/products?q=${encodeURIComponent(word)}`,
      { expect: 200 },
    );
    assert.ok(
      found.items.some((p) => p.id === page.items[0]?.id),
      `search for "${word}"`,
    );

    // The product page aggregates catalog and inventory; pick two products in stock.
    const inStock: Product[] = [];
    for (const product of page.items) {
      const view = await eventually(
        `stock of ${product.sku}`,
        async () => {
          const { body } = await call<ProductView>(`${gateway}/api/products/${product.id}/page`, {
            expect: 200,
          });
          return body.stock ? body : undefined;
        },
        60_000,
      );
      if (view.stock && view.stock.available >= 2) inStock.push(product);
      if (inStock.length === 2) break;
    }
    assert.equal(inStock.length, 2);

    for (const [i, product] of inStock.entries()) {
      await call(`${gateway}/api/cart/lines/${product.sku}`, {
        method: 'PUT',
        headers: bearer,
        body: JSON.stringify({ quantity: i + 1 }),
        expect: 200,
      });
    }
    const { body: cart } = await call<Cart>(`${gateway}/api/cart`, {
      headers: bearer,
      expect: 200,
    });
    assert.deepEqual(
      cart.lines.map((line) => [line.sku, line.quantity]),
      inStock.map((product, i) => [product.sku, i + 1]),
    );
    assert.equal(
      cart.totalMinor,
      inStock.reduce((sum, product, i) => sum + product.priceMinor * (i + 1), 0),
    );

    // Check out inside a trace the client starts, as an instrumented browser would, with an
    // Idempotency-Key so that the client may safely send it again.
    const checkout = { ...bearer, 'idempotency-key': randomBytes(16).toString('hex') };
    const { body: accepted, headers } = await call<Order>(`${gateway}/api/orders`, {
      method: 'POST',
      headers: { ...checkout, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      expect: 202,
    });
    assert.equal(accepted.status, 'PENDING');
    orderId = accepted.orderId;
    const location = headers.get('location');
    assert.equal(location, `/api/orders/${orderId}`);
    // The repeat (say, after a lost answer) gets the same order; the cart is empty by now, so
    // without the key it would be refused.
    const repeat = await call<Order>(`${gateway}/api/orders`, {
      method: 'POST',
      headers: checkout,
      expect: 202,
    });
    assert.equal(repeat.body.orderId, orderId);
    assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
    await call<Problem>(`${gateway}/api/orders`, { method: 'POST', headers: bearer, expect: 409 });

    const shipped = await eventually(
      `order ${orderId} SHIPPED`,
      async () => {
        const { body } = await call<Order>(`${gateway}${location}`, {
          headers: bearer,
          expect: 200,
        });
        assert.notEqual(body.status, 'CANCELLED', 'no payment is declined in this run');
        await sleep(500);
        return body.status === 'SHIPPED' ? body : undefined;
      },
      60_000,
    );
    assert.ok(shipped.trackingId, 'a shipped order has a tracking id');
  });

  it("puts the order's spans from the gateway, every service on the path, the Envoys and Kafka under one trace id", async function () {
    assert.ok(orderId, 'the checkout ran');
    const jaeger = stack.jaeger;
    assert.ok(jaeger);
    const missing = (spans: SeenSpan[]): string[] => {
      const has = (want: Partial<SeenSpan>): boolean =>
        spans.some((span) =>
          Object.entries(want).every(([key, value]) => span[key as keyof SeenSpan] === value),
        );
      const wanted: [string, Partial<SeenSpan>][] = [
        ...CHECKOUT_PATH.flatMap((service): [string, Partial<SeenSpan>][] => [
          [`${service} server span`, { service, kind: 'server' }],
          [`${service}'s Envoy`, { service: `${service}-envoy` }],
        ]),
        ...KAFKA_HOPS.flatMap(({ topic, producer, consumer }): [string, Partial<SeenSpan>][] => [
          [
            `${producer} sends ${topic}`,
            { service: producer, name: `send ${topic}`, kind: 'producer' },
          ],
          [
            `${consumer} processes ${topic}`,
            { service: consumer, name: `process ${topic}`, kind: 'consumer' },
          ],
        ]),
        ['notifications processes an event', { service: 'notifications', kind: 'consumer' }],
      ];
      return wanted.filter(([, want]) => !has(want)).map(([what]) => what);
    };
    // Services and Envoys export in batches (Envoy every 5 s): wait for the last hop.
    let last: string[] = [];
    const spans = await eventually(
      'the whole order in one trace',
      async () => {
        const seen = await traceSpans(jaeger.queryUrl, traceId);
        if (!seen) return undefined;
        last = missing(seen);
        return last.length === 0 ? seen : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; still missing: ${last.join(', ')}`);
    });
    assert.ok(spans.every((span) => span.traceId === traceId));
    // Every event leaves through its producer's outbox relay, whose span parents the send.
    for (const { topic, producer } of KAFKA_HOPS) {
      const relays = new Set(
        spans
          .filter((span) => span.service === producer && span.name === `outbox relay ${topic}`)
          .map((span) => span.spanId),
      );
      const sends = spans.filter(
        (span) => span.service === producer && span.name === `send ${topic}`,
      );
      assert.ok(sends.length > 0 && relays.size > 0, `${producer}: send and relay spans`);
      for (const send of sends) {
        assert.ok(
          relays.has(send.parentId ?? ''),
          `${producer}: the relay span parents send ${topic}`,
        );
      }
    }
  });

  it('every Prometheus target is up: each service and each Envoy', async function () {
    const prometheus = stack.prometheus;
    assert.ok(prometheus);
    interface Target {
      labels: Record<string, string>;
      health: string;
      lastError: string;
    }
    const targets = await eventually(
      'every target up',
      async () => {
        const response = await fetch(`${prometheus.url}/api/v1/targets?state=active`);
        const body = (await response.json()) as { data: { activeTargets: Target[] } };
        const all = body.data.activeTargets;
        return all.length > 0 && all.every((t) => t.health === 'up') ? all : undefined;
      },
      30_000,
    );
    const jobs = targets.map((t) =>
      t.labels.job === 'envoy' ? `envoy/${t.labels.service ?? ''}` : t.labels.job,
    );
    const services = SERVICES.map((s) => s.name);
    assert.deepEqual(
      [...jobs].sort(),
      ['prometheus', ...services, ...services.map((s) => `envoy/${s}`)].sort(),
    );
    // The checkout went through the gateway's egress listener for orders: Envoy counted it.
    const requests = await eventually(
      "the gateway's Envoy counts its calls to orders",
      async () => {
        const samples = await prometheus.query(
          'sum(envoy_cluster_upstream_rq_total{job="envoy",service="gateway",envoy_cluster_name="orders"})',
        );
        const value = Number(samples[0]?.value[1] ?? 0);
        return value > 0 ? value : undefined;
      },
      30_000,
    );
    assert.ok(requests >= 1);
  });

  it('refuses a request without a token, with a forged one and with an expired one (401)', async function () {
    const cart = `${gateway}/api/cart`;
    const refused = async (headers: Record<string, string>, why: string): Promise<void> => {
      const { status, body, headers: answer } = await call<Problem>(cart, { headers });
      assert.equal(status, 401, why);
      assert.equal(body.status, 401, why);
      assert.match(answer.get('content-type') ?? '', /^application\/problem\+json/, why);
    };
    await refused({}, 'no token');

    // Forged: the issuer's claims and key id, signed with someone else's key.
    const real = await token('e2e-victim');
    const { kid } = decodeProtectedHeader(real);
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'RS256', kid: kid ?? '', typ: 'JWT' })
      .setSubject('e2e-victim')
      .setIssuer('emporium-dev-issuer')
      .setAudience('emporium')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    await refused({ authorization: `Bearer ${forged}` }, 'a forged signature');
    // Tampered: a real token whose payload was swapped for another user's.
    const [header, , signature] = real.split('.');
    const payload = Buffer.from(
      JSON.stringify({
        sub: 'admin',
        roles: ['admin'],
        iss: 'emporium-dev-issuer',
        aud: 'emporium',
        exp: 4102444800,
      }),
    ).toString('base64url');
    await refused(
      { authorization: `Bearer ${header ?? ''}.${payload}.${signature ?? ''}` },
      'a tampered payload',
    );
    // The real token still works, so the refusals above are about the tokens.
    await call(cart, { headers: { authorization: `Bearer ${real}` }, expect: 200 });

    // Expired: past its exp plus the verifier's 5 s clock tolerance.
    await sleep(Math.max(0, expiredAt + 6_500 - Date.now()));
    await refused({ authorization: `Bearer ${expiredToken}` }, 'an expired token');
  });

  it('straight to each service, past the gateway: forged identity headers get 401, the wrong caller 403', async function () {
    const identity = stack.identity;
    assert.ok(identity);
    const shopper = `Bearer ${await token('e2e-forger')}`;
    const forged = { 'x-user-id': 'e2e-victim', 'x-user-roles': 'admin' };
    const checked: string[] = [];
    for (const { name } of SERVICES.filter((s) => s.name !== 'gateway')) {
      // Its own port and its sidecar's ingress: what another pod in the cluster could reach.
      const bases = [ports.services[name].app, ports.services[name].service].map(
        (port) => `http://127.0.0.1:${String(port)}`,
      );
      const { body: document } = await call<OpenApi>(`${bases[0] ?? ''}/openapi.json`, {
        expect: 200,
      });
      // A workload token made out to this service, by a service that is no user and calls no one.
      const service = `Bearer ${await identity.serviceToken('notifications', name)}`;
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          if (!operation.security) continue; // open to anyone (browsing, stock levels)
          // Refused before the parameters are even validated: any value will do.
          const target = path.replaceAll(/\{[^}]+\}/g, 'e2e-x');
          const body = ['post', 'put', 'patch'].includes(method) ? '{}' : undefined;
          for (const base of bases) {
            const url = `${base}${target}`;
            const send = (headers: Record<string, string>) =>
              call<Problem>(url, {
                method: method.toUpperCase(),
                headers,
                ...(body ? { body } : {}),
              });
            const anonymous = await send(forged);
            assert.equal(anonymous.status, 401, `${method} ${url} with forged headers`);
            assert.equal(anonymous.body.code, 'TOKEN_REQUIRED');
            const wrongService = await send({ ...forged, authorization: service });
            assert.equal(wrongService.status, 403, `${method} ${url} as notifications`);
            if (operation['x-access'] !== 'user') {
              // Admin routes and routes for services only: a plain shopper is refused too.
              const user = await send({ ...forged, authorization: shopper });
              assert.equal(user.status, 403, `${method} ${url} as a shopper`);
            }
          }
          checked.push(`${name} ${method.toUpperCase()} ${path}`);
        }
      }
    }
    // Every service with a route that needs a caller was reached (all but nobody).
    for (const name of [
      'cart',
      'catalog',
      'inventory',
      'orders',
      'payments',
      'shipping',
      'notifications',
    ]) {
      assert.ok(
        checked.some((c) => c.startsWith(`${name} `)),
        `${name}: no guarded route seen`,
      );
    }
  });

  it('answers 429 with Retry-After once a user is over the limit, and serves others meanwhile', async function () {
    const greedy = { authorization: `Bearer ${await token('e2e-greedy')}` };
    const answers = await Promise.all(
      Array.from({ length: USER_CAPACITY + 10 }, () =>
        call<Problem>(`${gateway}/api/cart`, { headers: greedy }),
      ),
    );
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(
      limited.length >= 5,
      `${String(limited.length)} of ${String(answers.length)} limited`,
    );
    assert.ok(answers.every((a) => a.status === 200 || a.status === 429));
    for (const answer of limited) {
      assert.equal(answer.body.code, 'RATE_LIMITED');
      assert.ok(Number(answer.headers.get('retry-after')) >= 1);
    }
    // Another shopper has a bucket of their own.
    await call(`${gateway}/api/cart`, {
      headers: { authorization: `Bearer ${await token('e2e-patient')}` },
      expect: 200,
    });
  });

  it('loadgen drives the store through the gateway (npm run load --strict: no errors, every order final in 60 s) and Prometheus scrapes it', async function () {
    const prometheus = stack.prometheus;
    assert.ok(prometheus);
    const port = await freePort();
    const unregister = await registerScrapeTarget(dataDir, 'loadgen', port);
    try {
      // 20 shoppers at 8 rps stay inside this run's per-user bucket (1 token/s each).
      const run = runNodeScript(
        join(repoRoot(), 'scripts', 'src', 'load.ts'),
        { HOME: process.env.HOME ?? '' },
        [
          '--gateway',
          gateway,
          '--port',
          String(port),
          '--rps',
          '8',
          '--duration',
          '15s',
          '--users',
          '20',
          // The soak's short form (the bench's `soak` runs it at 25 rps): no failed request
          // and every order final within 60 s, or exit 1.
          '--strict',
        ],
      );
      const scraped = await eventually(
        'loadgen scraped while it runs',
        async () => {
          const samples = await prometheus.query('sum(loadgen_requests_total{job="loadgen"})');
          const value = Number(samples[0]?.value[1] ?? 0);
          return value > 0 ? value : undefined;
        },
        30_000,
      );
      assert.ok(scraped > 0);
      const { code, stdout, stderr } = await run;
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^total\s+\d+/m, 'the table has a total row');
      const orders = /orders placed: (\d+)/.exec(stdout);
      assert.ok(Number(orders?.[1]) >= 1, `orders placed:\n${stdout}`);
      const total = /^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(stdout);
      const [requests, ok, , limited, errors] = (total?.slice(1) ?? []).map(Number);
      assert.ok((requests ?? 0) >= 80, `about 8 rps for 15 s:\n${stdout}`);
      assert.equal(errors, 0, `no errors through the whole stack:\n${stdout}`);
      assert.equal(limited, 0, stdout);
      assert.ok((ok ?? 0) >= (requests ?? 0) * 0.9, stdout);
    } finally {
      await unregister();
    }
  });
});
