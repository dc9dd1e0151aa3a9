import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import {
  createUpstreamClient,
  upstreamClients,
  type UpstreamClientOptions,
} from './upstream-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
}

function json(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}

describe('upstream client', () => {
  let server: Server;
  let baseUrl: string;
  let metrics: Metrics;
  const hits = new Map<string, number>();
  const seenHeaders = new Map<string, IncomingMessage['headers']>();
  const handlers: Record<string, Handler> = {
    '/products/p-1': (_req, res) => {
      json(res, 200, { id: 'p-1', price: 1299 });
    },
    '/slow': (_req, res) => {
      const timer = setTimeout(() => {
        json(res, 200, { late: true });
      }, 5000);
      res.on('close', () => {
        clearTimeout(timer);
      });
    },
    '/flaky': (req, res) => {
      if ((hits.get(req.url ?? '') ?? 0) <= 2) json(res, 503, { code: 'UNAVAILABLE' });
      else json(res, 200, { ok: true });
    },
    '/down': (_req, res) => {
      res.writeHead(503, { 'retry-after': '9' }).end();
    },
    '/broken': (_req, res) => {
      json(res, 500, { code: 'INTERNAL' }, 'application/problem+json');
    },
    '/missing': (_req, res) => {
      json(res, 404, { code: 'NOT_FOUND', status: 404 }, 'application/problem+json');
    },
    '/orders': (_req, res) => {
      res.writeHead(502).end();
    },
    '/echo': (req, res, body) => {
      json(res, 200, {
        method: req.method,
        url: req.url,
        body: body === '' ? null : (JSON.parse(body) as unknown),
      });
    },
    '/not-json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"truncated":');
    },
  };

  function client(overrides: Partial<UpstreamClientOptions> = {}) {
    return createUpstreamClient({
      name: 'catalog',
      baseUrl,
      // Roomy: a loaded CI machine has made a prompt stub miss 200 ms; /slow takes 5 s.
      timeoutMs: 1000,
      retries: 2,
      backoffMs: 5,
      metrics,
      logger: pino({ level: 'silent' }),
      ...overrides,
    });
  }

  const contextManager = new AsyncLocalStorageContextManager();
  /** The CLIENT spans the client ends, to read their attributes. */
  const spans = new InMemorySpanExporter();

  before(async () => {
    contextManager.enable();
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    );
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0] ?? '';
        hits.set(path, (hits.get(path) ?? 0) + 1);
        seenHeaders.set(path, req.headers);
        const handler = handlers[path];
        if (handler) handler(req, res, Buffer.concat(chunks).toString());
        else json(res, 404, { code: 'NOT_FOUND' });
      });
    });
    baseUrl = await listen(server);
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => {
    hits.clear();
    seenHeaders.clear();
    metrics = createMetrics({ service: 'orders', runtimeMetrics: false });
  });

  it('returns a 2xx with its parsed JSON body, validated when given a schema', async () => {
    const Product = z.object({ id: z.string(), price: z.int() });
    const res = await client().request({ method: 'GET', path: '/products/p-1', schema: Product });
    assert.equal(res.status, 200);
    assert.ok(res.ok);
    assert.deepEqual(res.body, { id: 'p-1', price: 1299 });
    await assert.rejects(
      client().request({ method: 'GET', path: '/products/p-1', schema: z.object({ id: z.int() }) }),
      (error: unknown) => error instanceof AppError && error.code === 'UPSTREAM_FAILED',
    );
  });

  it('sends query and JSON body', async () => {
    const res = await client().request({
      method: 'PUT',
      path: 'echo',
      query: { a: 1, tag: ['x', 'y'], skip: undefined },
      body: { hello: 'world' },
    });
    assert.deepEqual(res.body, {
      method: 'PUT',
      url: '/echo?a=1&tag=x&tag=y',
      body: { hello: 'world' },
    });
    assert.equal(seenHeaders.get('/echo')?.['content-type'], 'application/json');
  });

  it("carries the service's own workload token for the upstream, unless a user's is passed on", async () => {
    const asked: string[] = [];
    const tokens = {
      authorization: (audience: string) => {
        asked.push(audience);
        return Promise.resolve(`Bearer token-for-${audience}`);
      },
    };
    await client({ tokens }).request({ method: 'GET', path: '/products/p-1' });
    assert.equal(seenHeaders.get('/products/p-1')?.authorization, 'Bearer token-for-catalog');
    assert.deepEqual(asked, ['catalog']);
    await client({ tokens }).request({
      method: 'GET',
      path: '/products/p-1',
      headers: { Authorization: 'Bearer users-own' },
    });
    assert.equal(seenHeaders.get('/products/p-1')?.authorization, 'Bearer users-own');
    assert.deepEqual(asked, ['catalog'], 'not asked again: the user is the caller');
    // No token for that upstream: the call goes anonymous.
    await client({ tokens: { authorization: () => Promise.resolve(undefined) } }).request({
      method: 'GET',
      path: '/products/p-1',
    });
    assert.equal(seenHeaders.get('/products/p-1')?.authorization, undefined);
  });

  it('times out with 504 UPSTREAM_TIMEOUT, without retrying', async () => {
    const started = Date.now();
    await assert.rejects(client().request({ method: 'GET', path: '/slow' }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'UPSTREAM_TIMEOUT');
      assert.equal(error.status, 504);
      return true;
    });
    assert.ok(Date.now() - started < 4000, 'gave up at the timeout');
    assert.equal(hits.get('/slow'), 1);
  });

  it('retries an idempotent GET on 503 and succeeds on the third attempt', async () => {
    const res = await client().request({ method: 'GET', path: '/flaky' });
    assert.equal(res.status, 200);
    assert.equal(hits.get('/flaky'), 3);
  });

  it('bounds the retries of a GET and then throws 503 with the upstream Retry-After', async () => {
    await assert.rejects(
      client({ retries: 3 }).request({ method: 'GET', path: '/down' }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.status, 503);
        assert.equal(error.code, 'UNAVAILABLE');
        assert.equal(error.headers['retry-after'], '9');
        return true;
      },
    );
    assert.equal(hits.get('/down'), 4);
    await assert.rejects(client({ retries: 0 }).request({ method: 'GET', path: '/down' }));
    assert.equal(hits.get('/down'), 5);
  });

  it("upstreamClients makes clients with the config's timeout and retries", async () => {
    const upstream = upstreamClients(
      { UPSTREAM_TIMEOUT_MS: 1000, UPSTREAM_RETRIES: 0 },
      { metrics, logger: pino({ level: 'silent' }) },
    );
    const before = hits.get('/down') ?? 0;
    await assert.rejects(upstream('catalog', baseUrl).request({ method: 'GET', path: '/down' }));
    assert.equal(hits.get('/down'), before + 1, 'UPSTREAM_RETRIES=0: one attempt');
    await assert.rejects(
      upstream('catalog', baseUrl).request({ method: 'GET', path: '/slow' }),
      (error: unknown) => error instanceof AppError && error.code === 'UPSTREAM_TIMEOUT',
    );
  });

  it('never retries a POST', async () => {
    await assert.rejects(
      client().request({ method: 'POST', path: '/orders', body: { sku: 'SKU-1' } }),
      (error: unknown) =>
        error instanceof AppError && error.code === 'UPSTREAM_FAILED' && error.status === 502,
    );
    assert.equal(hits.get('/orders'), 1);
  });

  it('retries a POST that carries an Idempotency-Key', async () => {
    await assert.rejects(
      client().request({
        method: 'POST',
        path: '/orders',
        body: { sku: 'SKU-1' },
        headers: { 'Idempotency-Key': 'order-1' },
      }),
    );
    assert.equal(hits.get('/orders'), 3);
  });

  it('does not retry a 500 and maps it to 502 UPSTREAM_FAILED', async () => {
    await assert.rejects(
      client().request({ method: 'GET', path: '/broken' }),
      (error: unknown) => error instanceof AppError && error.code === 'UPSTREAM_FAILED',
    );
    assert.equal(hits.get('/broken'), 1);
  });

  it('passes a 4xx problem back to the caller', async () => {
    const res = await client().request({ method: 'GET', path: '/missing' });
    assert.equal(res.ok, false);
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { code: 'NOT_FOUND', status: 404 });
  });

  it('maps invalid JSON to 502 UPSTREAM_FAILED', async () => {
    await assert.rejects(
      client().request({ method: 'GET', path: '/not-json' }),
      (error: unknown) => error instanceof AppError && error.code === 'UPSTREAM_FAILED',
    );
  });

  it('maps connection refused to 503 UNAVAILABLE with Retry-After, after bounded retries', async () => {
    const closed = createServer();
    const closedUrl = await listen(closed);
    closed.close();
    await once(closed, 'close');
    const started = Date.now();
    await assert.rejects(
      client({ baseUrl: closedUrl, retryAfterSeconds: 3 }).request({ method: 'GET', path: '/x' }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.status, 503);
        assert.equal(error.code, 'UNAVAILABLE');
        assert.equal(error.headers['retry-after'], '3');
        return true;
      },
    );
    assert.ok(Date.now() - started < 1000);
    const text = await metrics.registry.metrics();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('http_client_request_duration_seconds_count{') &&
          l.includes('http_response_status_code="0"'),
      );
    assert.match(
      line ?? '',
      /upstream="catalog",http_request_method="GET",http_response_status_code="0"\} 3$/,
    );
  });

  it('records no user id in its spans: the route template for the path, query values redacted', async () => {
    spans.reset();
    await client().request({
      method: 'GET',
      path: '/products/p-1',
      route: '/products/:id',
      query: { userId: 'alice', q: 'alice' },
    });
    await client().request({ method: 'GET', path: '/products/p-1', query: { q: 'mugs' } });
    const [templated, plain] = spans.getFinishedSpans();
    assert.equal(
      templated?.attributes['url.full'],
      `${baseUrl}/products/:id?userId=REDACTED&q=REDACTED`,
    );
    assert.equal(templated.attributes['url.template'], '/products/:id');
    assert.doesNotMatch(JSON.stringify(templated.attributes), /alice/);
    assert.equal(plain?.attributes['url.full'], `${baseUrl}/products/p-1?q=REDACTED`);
    assert.equal(plain.attributes['url.template'], undefined);
  });

  it('injects W3C trace context from the active span', async () => {
    const tracer = trace.getTracer('test');
    const parent = tracer.startSpan('handler');
    const parentContext = parent.spanContext();
    assert.equal(parentContext.traceFlags & 1, 1, 'the test tracer samples');
    await context.with(trace.setSpan(context.active(), parent), () =>
      client().request({ method: 'GET', path: '/products/p-1' }),
    );
    parent.end();
    const traceparent = seenHeaders.get('/products/p-1')?.traceparent;
    assert.equal(typeof traceparent, 'string');
    const [version, traceId, spanId, flags] = String(traceparent).split('-');
    assert.equal(version, '00');
    assert.equal(traceId, parentContext.traceId);
    assert.notEqual(spanId, parentContext.spanId, 'the CLIENT span is the parent of the call');
    assert.equal(flags, '01');
  });

  it('records http_client_request_duration_seconds per attempt, with a trace exemplar', async () => {
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('handler', async (span) => {
      await client().request({ method: 'GET', path: '/flaky' });
      span.end();
    });
    const text = await metrics.registry.metrics();
    const count = (status: string): number => {
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('http_client_request_duration_seconds_count{') &&
            l.includes(
              `upstream="catalog",http_request_method="GET",http_response_status_code="${status}"`,
            ),
        );
      return line === undefined ? 0 : Number(line.split(' ')[1]);
    };
    assert.equal(count('503'), 2);
    assert.equal(count('200'), 1);
    assert.match(
      text,
      /http_client_request_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\}/,
    );
  });
});
