import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import request from 'supertest';
import { ensureTool } from '@emporium/harness';
import { z } from 'zod';
import { errors } from '../errors.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createHttpApp, type HttpApp } from './http-app.js';
import { createReadiness } from './readiness.js';

const CreateOrder = z.object({
  customerId: z.string().min(1),
  lines: z
    .array(z.object({ sku: z.string().regex(/^SKU-\d+$/), quantity: z.int().positive() }))
    .min(1),
});
const OrderAccepted = z.object({ orderId: z.string(), lines: z.int() });
const ProductParams = z.object({ id: z.string().regex(/^p-\d+$/) });
const ProductQuery = z.object({ limit: z.coerce.number().int().max(100).optional() });

interface Harness extends HttpApp {
  metrics: Metrics;
  logs: Record<string, unknown>[];
}

function build(options: { readinessTimeoutMs?: number } = {}): Harness {
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const metrics = createMetrics({ service: 'test', runtimeMetrics: false });
  const http = createHttpApp({
    service: 'test',
    version: '1.2.3',
    metrics,
    logger,
    readiness: createReadiness({ timeoutMs: options.readinessTimeoutMs ?? 100 }),
    bodyLimit: '1kb',
    openapi: { title: 'Test API', version: '1.2.3' },
  });
  http.routes.post(
    '/orders',
    {
      summary: 'Place an order',
      body: CreateOrder,
      responses: { 202: OrderAccepted, 409: 'problem' },
    },
    (req, res) => {
      // Typed: a wrong property name here fails `tsc`.
      const first = req.body.lines[0]?.sku ?? '';
      res.status(202).json({ orderId: `o-${first}`, lines: req.body.lines.length });
    },
  );
  http.routes.get(
    '/products/:id',
    {
      params: ProductParams,
      query: ProductQuery,
      responses: { 200: z.object({ id: z.string() }) },
    },
    (req, res) => {
      const limit: number | undefined = req.query.limit;
      res.json({ id: req.params.id, limit: limit ?? null });
    },
  );
  http.routes.get('/boom', { responses: {} }, () => {
    throw new Error('secret: mongodb://admin:hunter2@db');
  });
  http.routes.get('/busy', { responses: { 429: 'problem' } }, () => {
    throw errors.rateLimited(7);
  });
  return { ...http, metrics, logs };
}

function assertProblem(res: request.Response, status: number, code: string): void {
  assert.equal(res.status, status);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  const body = res.body as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.detail, 'string');
  assert.match(String(body.type), /^urn:emporium:problem:/);
}

describe('http app', () => {
  describe('bodies and validation', () => {
    it('accepts a valid body and hands the handler typed values', async () => {
      const { app } = build();
      const res = await request(app)
        .post('/orders')
        .send({ customerId: 'c-1', lines: [{ sku: 'SKU-1', quantity: 2 }] });
      assert.equal(res.status, 202);
      assert.deepEqual(res.body, { orderId: 'o-SKU-1', lines: 1 });
    });

    it('answers malformed JSON with 400 MALFORMED_REQUEST', async () => {
      const { app } = build();
      const res = await request(app)
        .post('/orders')
        .set('content-type', 'application/json')
        .send('{"customerId": ');
      assertProblem(res, 400, 'MALFORMED_REQUEST');
    });

    it('answers wrong types with 400 VALIDATION_FAILED listing every field path', async () => {
      const { app } = build();
      const res = await request(app)
        .post('/orders')
        .send({
          customerId: 42,
          lines: [
            { sku: 'SKU-1', quantity: 1 },
            { sku: 7, quantity: 'two' },
          ],
        });
      assertProblem(res, 400, 'VALIDATION_FAILED');
      const paths = (res.body as { errors: { path: string; message: string }[] }).errors.map(
        (e) => e.path,
      );
      assert.deepEqual(paths.sort(), [
        'body.customerId',
        'body.lines[1].quantity',
        'body.lines[1].sku',
      ]);
    });

    it('validates params and query with their own path prefixes', async () => {
      const { app } = build();
      const res = await request(app).get('/products/nope?limit=lots');
      assertProblem(res, 400, 'VALIDATION_FAILED');
      const paths = (res.body as { errors: { path: string }[] }).errors.map((e) => e.path);
      assert.deepEqual(paths, ['params.id', 'query.limit']);
      const ok = await request(app).get('/products/p-7?limit=5');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { id: 'p-7', limit: 5 });
    });

    it('answers a missing body with 400 at path `body`', async () => {
      const { app } = build();
      const res = await request(app).post('/orders');
      assertProblem(res, 400, 'VALIDATION_FAILED');
      assert.equal((res.body as { errors: { path: string }[] }).errors[0]?.path, 'body');
    });

    it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
      const { app } = build();
      const res = await request(app)
        .post('/orders')
        .send({ customerId: 'x'.repeat(2048), lines: [] });
      assertProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('answers a non-JSON body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const { app } = build();
      const res = await request(app)
        .post('/orders')
        .set('content-type', 'text/plain')
        .send('customerId=c-1');
      assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('accepts a +json media type', async () => {
      const { app } = build();
      const res = await request(app)
        .post('/orders')
        .set('content-type', 'application/vnd.emporium+json; charset=utf-8')
        .send(JSON.stringify({ customerId: 'c-1', lines: [{ sku: 'SKU-2', quantity: 1 }] }));
      assert.equal(res.status, 202);
    });
  });

  describe('errors', () => {
    it('answers an unknown route with a 404 problem', async () => {
      const { app } = build();
      const res = await request(app).get('/no/such/thing?x=1');
      assertProblem(res, 404, 'NOT_FOUND');
      assert.equal((res.body as { instance: string }).instance, '/no/such/thing');
    });

    it('answers a known path with the wrong method with 405 and Allow', async () => {
      const { app } = build();
      const res = await request(app).delete('/orders');
      assertProblem(res, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(res.headers.allow, 'POST');
    });

    it('answers a thrown Error with a 500 problem that hides its message and stack', async () => {
      const { app, logs } = build();
      const res = await request(app).get('/boom');
      assertProblem(res, 500, 'INTERNAL');
      assert.doesNotMatch(res.text, /hunter2|secret|mongodb|at .*\.ts/);
      const logged = logs.find((line) => line.msg === 'request failed');
      assert.ok(logged, 'the 500 is logged');
      assert.equal(logged.level, 50);
      assert.match(JSON.stringify(logged.err), /hunter2/);
    });

    it('keeps the headers of an AppError, e.g. Retry-After', async () => {
      const { app } = build();
      const res = await request(app).get('/busy');
      assertProblem(res, 429, 'RATE_LIMITED');
      assert.equal(res.headers['retry-after'], '7');
    });
  });

  describe('security headers', () => {
    it('sets them on answers and problems alike, and says nothing of express', async () => {
      const { app } = build();
      for (const res of [
        await request(app).get('/products/p-1'),
        await request(app).get('/nope'),
      ]) {
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
        assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
        assert.equal(res.headers['x-frame-options'], 'DENY');
        assert.equal(res.headers['referrer-policy'], 'no-referrer');
        assert.equal(res.headers['x-powered-by'], undefined);
      }
    });
  });

  describe('routing and declared access', () => {
    it('is strict and case-sensitive: another spelling of a path is a 404, not the route', async () => {
      const { app } = build();
      assert.equal((await request(app).get('/products/p-1')).status, 200);
      for (const path of ['/Products/p-1', '/PRODUCTS/p-1', '/products/p-1/']) {
        assertProblem(await request(app).get(path), 404, 'NOT_FOUND');
      }
    });

    it("enforces each route's declared access before its body is parsed", async () => {
      const seen: string[] = [];
      const http = createHttpApp({
        service: 'test',
        version: '1.0.0',
        metrics: createMetrics({ service: 'test', runtimeMetrics: false }),
        logger: pino({ level: 'silent' }),
        openapi: { title: 'Test API', version: '1.0.0' },
        authorize: (req, access) => {
          seen.push(`${req.method} ${JSON.stringify(access)}`);
          if (access !== 'anonymous' && req.headers['x-test-user'] === undefined) {
            throw errors.unauthorized();
          }
        },
      });
      http.routes.get(
        '/open',
        { access: 'anonymous', responses: { 200: 'empty' } },
        (_req, res) => {
          res.json({ ok: true });
        },
      );
      http.routes.post(
        '/orders',
        { access: 'user', body: CreateOrder, responses: { 202: OrderAccepted } },
        (req, res) => {
          res.status(202).json({ orderId: 'o-1', lines: req.body.lines.length });
        },
      );
      assert.equal((await request(http.app).get('/open')).status, 200);
      // Malformed JSON from a caller without the right: the 401, not a 400 that says more.
      const refused = await request(http.app)
        .post('/orders')
        .set('content-type', 'application/json')
        .send('{not json');
      assertProblem(refused, 401, 'UNAUTHORIZED');
      const taken = await request(http.app)
        .post('/orders')
        .set('x-test-user', 'alice')
        .send({ customerId: 'c', lines: [{ sku: 'SKU-1', quantity: 1 }] });
      assert.equal(taken.status, 202);
      assert.deepEqual(seen, ['GET "anonymous"', 'POST "user"', 'POST "user"']);
      // In an app that checks access, a route that does not declare it is a mistake at start.
      assert.throws(() => {
        http.routes.get('/forgot', { responses: { 200: 'empty' } }, (_req, res) => {
          res.end();
        });
      }, /GET \/forgot: declare who may call it/);
    });
  });

  describe('request ids', () => {
    it('echoes a safe incoming x-request-id', async () => {
      const { app } = build();
      const res = await request(app).get('/livez').set('x-request-id', 'req-42.abc:1');
      assert.equal(res.headers['x-request-id'], 'req-42.abc:1');
    });

    it('replaces a missing or unsafe id with a generated UUID', async () => {
      const { app, logs } = build();
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      const missing = await request(app).get('/products/p-1');
      assert.match(missing.headers['x-request-id'] ?? '', uuid);
      const unsafe = await request(app).get('/livez').set('x-request-id', '<script>');
      assert.match(unsafe.headers['x-request-id'] ?? '', uuid);
      const tooLong = await request(app).get('/livez').set('x-request-id', 'a'.repeat(129));
      assert.match(tooLong.headers['x-request-id'] ?? '', uuid);
      const access = logs.find((line) => line.msg === 'request completed');
      assert.equal(access?.request_id, missing.headers['x-request-id']);
    });
  });

  describe('probes', () => {
    it('/livez answers 200 even when a readiness check fails', async () => {
      const { app, readiness } = build();
      readiness.register('mongo', () => Promise.reject(new Error('down')));
      const res = await request(app).get('/livez');
      assert.equal(res.status, 200);
      assert.equal((res.body as { status: string }).status, 'ok');
    });

    it('/readyz answers 200 with each check when all pass', async () => {
      const { app, readiness } = build();
      readiness.register('mongo', () => Promise.resolve());
      readiness.register('kafka', async () => {
        await Promise.resolve();
      });
      const res = await request(app).get('/readyz');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { status: 'ok', checks: { mongo: 'ok', kafka: 'ok' } });
    });

    it('/readyz answers 503 with Retry-After when a check rejects, throws or hangs', async () => {
      const { app, readiness } = build({ readinessTimeoutMs: 50 });
      readiness.register('ok', () => Promise.resolve());
      readiness.register('rejects', () => Promise.reject(new Error('password=hunter2')));
      readiness.register('throws', () => {
        throw new Error('sync');
      });
      readiness.register('hangs', () => new Promise<void>(() => undefined));
      const started = Date.now();
      const res = await request(app).get('/readyz');
      assert.ok(Date.now() - started < 1000, 'a hung check is cut off by the timeout');
      assertProblem(res, 503, 'UNAVAILABLE');
      assert.equal(res.headers['retry-after'], '5');
      const body = res.body as { checks: Record<string, string>; failing: string[] };
      assert.deepEqual(body.checks, {
        ok: 'ok',
        rejects: 'failed',
        throws: 'failed',
        hangs: 'timeout',
      });
      assert.deepEqual(body.failing, ['rejects', 'throws', 'hangs']);
      assert.doesNotMatch(res.text, /hunter2/);
    });

    it('/readyz answers 503 once shutdown started, with Connection: close', async () => {
      const { app, readiness } = build();
      readiness.register('mongo', () => Promise.resolve());
      assert.equal((await request(app).get('/readyz')).status, 200);
      readiness.startShutdown();
      assert.equal(readiness.isShuttingDown(), true);
      const res = await request(app).get('/readyz');
      assertProblem(res, 503, 'SHUTTING_DOWN');
      assert.ok(res.headers['retry-after']);
      assert.equal(res.headers.connection, 'close');
      assert.equal((await request(app).get('/livez')).status, 200);
    });
  });

  describe('/metrics', () => {
    it('answers a plain client in the Prometheus text format, which promtool checks clean', async () => {
      const metrics = createMetrics({ service: 'promtool' });
      const { app } = createHttpApp({
        service: 'promtool',
        version: '1',
        metrics,
        logger: pino({ level: 'silent' }),
        openapi: { title: 'promtool', version: '1' },
      });
      metrics
        .counter({ name: 'orders_placed_total', help: 'Orders placed.', labelNames: ['currency'] })
        .inc({ currency: 'EUR' });
      await request(app).get('/livez');
      const res = await request(app).get('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
      // Counters keep their `_total` in this format too (OpenMetrics adds it to the family).
      assert.match(res.text, /^orders_placed_total\{currency="EUR",service="promtool"\} 1$/m);
      assert.doesNotMatch(res.text, /# EOF|# \{trace_id/);
      const { promtool } = await ensureTool('prometheus');
      const check = spawnSync(promtool, ['check', 'metrics'], {
        input: res.text,
        encoding: 'utf8',
      });
      const findings = `${check.stdout}${check.stderr}`.trim().split('\n').filter(Boolean);
      // What is left is prom-client's own runtime gauges, named `_total` by prom-client (counts
      // of handles, requests and resources right now, so gauges): its names, not ours to change.
      const PROM_CLIENT_GAUGES =
        /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
      assert.deepEqual(
        findings.filter((line) => !PROM_CLIENT_GAUGES.test(line)),
        [],
        `promtool check metrics (exit ${String(check.status)})`,
      );
      // The same counter, read by both formats at once, keeps its name in each.
      const [text, open] = await Promise.all([
        request(app).get('/metrics'),
        request(app).get('/metrics').set('accept', 'application/openmetrics-text'),
      ]);
      assert.match(text.text, /^# TYPE orders_placed_total counter$/m);
      assert.match(open.text, /^# TYPE orders_placed counter$/m);
      assert.match(open.text, /^orders_placed_total\{/m);
    });

    it('exposes the server histogram by route template, in OpenMetrics', async () => {
      const { app } = build();
      await request(app).get('/products/p-1');
      await request(app).get('/products/p-2');
      await request(app).get('/products/bad');
      await request(app).get('/nowhere/at/all');
      await request(app).get('/livez');
      // As Prometheus asks: OpenMetrics first, the text format as a fallback.
      const res = await request(app)
        .get('/metrics')
        .set('accept', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /application\/openmetrics-text/);
      assert.match(res.text, /# EOF\n$/);
      const count = (labels: string): number => {
        const line = res.text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('http_server_request_duration_seconds_count{') && l.includes(labels),
          );
        return line === undefined ? 0 : Number(line.split(' ')[1]);
      };
      assert.equal(
        count(
          'http_request_method="GET",http_route="/products/:id",http_response_status_code="200"',
        ),
        2,
      );
      assert.equal(
        count(
          'http_request_method="GET",http_route="/products/:id",http_response_status_code="400"',
        ),
        1,
      );
      assert.equal(
        count('http_request_method="GET",http_route="unmatched",http_response_status_code="404"'),
        1,
      );
      assert.doesNotMatch(
        res.text,
        /http_route="\/products\/p-1"|http_route="\/livez"|http_route="\/metrics"/,
      );
    });
  });
});
