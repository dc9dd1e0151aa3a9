import assert from 'node:assert/strict';
import { pino } from 'pino';
import request from 'supertest';
import { z } from 'zod';
import { createMetrics } from '../telemetry/metrics.js';
import { createHttpApp } from './http-app.js';
import { assertValidOpenApi } from '@emporium/harness';
import { toOpenApiPath } from './openapi.js';

const Line = z.object({ sku: z.string(), quantity: z.int().positive() }).meta({ id: 'OrderLine' });
const PlaceOrder = z
  .object({ customerId: z.string(), lines: z.array(Line).min(1) })
  .meta({ id: 'PlaceOrder' });
const OrderAccepted = z.object({ orderId: z.uuid() }).meta({ id: 'OrderAccepted' });

interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
  summary?: string;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

/** Every `$ref` in the document, wherever it sits. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refs(item, found);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push(inner);
      else refs(inner, found);
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  async function fetchDocument(): Promise<Document> {
    const { app, routes } = createHttpApp({
      service: 'orders',
      version: '2.0.0',
      metrics: createMetrics({ service: 'orders', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
      openapi: { title: 'Orders', version: '2.0.0', description: 'Order placement.' },
    });
    routes.post(
      '/orders',
      {
        summary: 'Place an order',
        body: PlaceOrder,
        responses: { 202: OrderAccepted, 409: 'problem' },
      },
      (_req, res) => {
        res.status(202).json({ orderId: crypto.randomUUID() });
      },
    );
    routes.get(
      '/orders/:id',
      {
        params: z.object({ id: z.uuid() }),
        query: z.object({ expand: z.enum(['lines']).optional() }),
        responses: { 200: PlaceOrder, 404: 'problem' },
      },
      (_req, res) => {
        res.json({});
      },
    );
    routes.delete('/carts/:cartId/lines/:sku', { responses: { 204: 'empty' } }, (_req, res) => {
      res.status(204).end();
    });
    const res = await request(app).get('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    return res.body as Document;
  }

  it('passes the official OpenAPI 3.1 JSON Schema', async () => {
    await assertValidOpenApi(await fetchDocument());
  });

  it('is an OpenAPI 3.1 document with info, paths and components', async () => {
    const doc = await fetchDocument();
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.info, {
      title: 'Orders',
      version: '2.0.0',
      description: 'Order placement.',
    });
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/carts/{cartId}/lines/{sku}',
      '/orders',
      '/orders/{id}',
    ]);
    for (const name of ['Problem', 'PlaceOrder', 'OrderLine', 'OrderAccepted']) {
      assert.ok(doc.components.schemas[name], `components.schemas.${name}`);
    }
  });

  it('documents the request body by reference and every response the route can give', async () => {
    const doc = await fetchDocument();
    const post = doc.paths['/orders']?.post;
    assert.ok(post);
    assert.equal(post.summary, 'Place an order');
    assert.equal(post.requestBody?.required, true);
    assert.deepEqual(post.requestBody.content['application/json']?.schema, {
      $ref: '#/components/schemas/PlaceOrder',
    });
    assert.deepEqual(Object.keys(post.responses).sort(), [
      '202',
      '400',
      '409',
      '413',
      '415',
      '500',
      '503',
    ]);
    assert.ok(post.responses['503']?.content?.['application/problem+json']);
    for (const [status, response] of Object.entries(post.responses)) {
      assert.equal(typeof response.description, 'string', `response ${status} has a description`);
    }
  });

  it('documents path and query parameters, typed or not', async () => {
    const doc = await fetchDocument();
    const get = doc.paths['/orders/{id}']?.get;
    assert.ok(get);
    const params = get.parameters ?? [];
    assert.deepEqual(
      params.map((p) => [p.in, p.name, p.required ?? false]),
      [
        ['path', 'id', true],
        ['query', 'expand', false],
      ],
    );
    assert.equal(get.requestBody, undefined);
    assert.deepEqual(Object.keys(get.responses).sort(), ['200', '400', '404', '500', '503']);

    const del = doc.paths['/carts/{cartId}/lines/{sku}']?.delete;
    assert.ok(del);
    assert.deepEqual(
      (del.parameters ?? []).map((p) => [p.in, p.name]),
      [
        ['path', 'cartId'],
        ['path', 'sku'],
      ],
    );
    assert.equal(del.responses['204']?.content, undefined);
  });

  it('declares every path template variable and resolves every $ref', async () => {
    const doc = await fetchDocument();
    for (const [path, item] of Object.entries(doc.paths)) {
      const variables = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const operation of Object.values(item)) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
        assert.deepEqual(declared.map((p) => p.name).sort(), variables.sort(), path);
        assert.ok(
          declared.every((p) => p.required === true),
          `${path}: path params required`,
        );
      }
    }
    for (const ref of refs(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      assert.ok(doc.components.schemas[name], `${ref} resolves`);
    }
  });

  it('converts express paths to OpenAPI templates', () => {
    assert.equal(toOpenApiPath('/products/:id'), '/products/{id}');
    assert.equal(toOpenApiPath('/a/:b/c/:d_e'), '/a/{b}/c/{d_e}');
    assert.equal(toOpenApiPath('/files/*path'), '/files/{path}');
  });
});
