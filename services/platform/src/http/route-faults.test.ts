import assert from 'node:assert/strict';
import { pino } from 'pino';
import request from 'supertest';
import { createFaults } from '../faults/faults.js';
import { createMetrics } from '../telemetry/metrics.js';
import { createHttpApp } from './http-app.js';

describe('fault injection on routes', () => {
  it('fails only the targeted route with a FAULT_INJECTED problem', async () => {
    const metrics = createMetrics({ service: 'faulty', runtimeMetrics: false });
    const faults = createFaults(
      [{ target: 'route:GET /products/:id', latencyMs: 0, errorRate: 1, status: 503 }],
      { metrics },
    );
    const http = createHttpApp({
      service: 'faulty',
      version: '1',
      metrics,
      logger: pino({ level: 'silent' }),
      openapi: { title: 'faulty', version: '1' },
      faults,
    });
    http.routes.get('/products/:id', { responses: { 200: 'empty' } }, (_req, res) => {
      res.status(200).end();
    });
    http.routes.get('/health-of-catalog', { responses: { 200: 'empty' } }, (_req, res) => {
      res.status(200).end();
    });
    const faulted = await request(http.app).get('/products/p-1');
    assert.equal(faulted.status, 503);
    assert.equal(faulted.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal((faulted.body as { code: string }).code, 'FAULT_INJECTED');
    assert.equal(faulted.headers['retry-after'], '1');
    assert.equal((await request(http.app).get('/health-of-catalog')).status, 200);
  });
});
