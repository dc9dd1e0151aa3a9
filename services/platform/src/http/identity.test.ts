import assert from 'node:assert/strict';
import request from 'supertest';
import { pino } from 'pino';
import { createMetrics } from '../telemetry/metrics.js';
import { createHttpApp } from './http-app.js';
import { callerOf, isAdmin, mayActFor, requireAdmin } from './identity.js';

describe('identity from the gateway', () => {
  it('reads the caller from x-user-id and x-user-roles; none means inside the mesh', () => {
    assert.equal(callerOf({}), undefined);
    assert.equal(callerOf({ 'x-user-id': '  ', 'x-user-roles': 'admin' }), undefined);
    assert.deepEqual(callerOf({ 'x-user-id': ['u-1'], 'x-user-roles': 'customer, Admin,' }), {
      userId: 'u-1',
      roles: ['customer', 'admin'],
    });
    assert.deepEqual(callerOf({ 'x-user-id': 'u-3' })?.roles, []);
  });

  it('lets a user act for themself, an admin and the mesh for anyone', () => {
    const alice = { userId: 'alice', roles: [] };
    const admin = { userId: 'root', roles: ['admin'] };
    assert.ok(mayActFor(alice, 'alice'));
    assert.ok(!mayActFor(alice, 'bob'));
    assert.ok(mayActFor(admin, 'bob'));
    assert.ok(mayActFor(undefined, 'bob'));
    assert.ok(isAdmin(admin) && !isAdmin(alice) && !isAdmin(undefined));
  });

  it('guards the chosen methods and paths before the body is read: 401, then 403', async () => {
    const metrics = createMetrics({ service: 'identity-test', runtimeMetrics: false });
    const { app, routes } = createHttpApp({
      service: 'identity-test',
      version: '0',
      metrics,
      logger: pino({ level: 'silent' }),
      openapi: { title: 'identity-test', version: '0' },
    });
    routes.use(
      requireAdmin({
        methods: ['PUT'],
        path: (path) => path.startsWith('/stock/'),
        action: 'Changing stock',
      }),
    );
    routes.put('/stock/:sku', { responses: { 200: 'empty' } }, (_req, res) => {
      res.status(200).end();
    });
    routes.get('/stock/:sku', { responses: { 200: 'empty' } }, (_req, res) => {
      res.status(200).end();
    });
    const anonymous = await request(app).put('/stock/A').send('not json');
    assert.equal(anonymous.status, 401);
    assert.equal(
      (anonymous.body as { detail: string }).detail,
      'Changing stock needs a signed-in user.',
    );
    const customer = await request(app).put('/stock/A').set('x-user-id', 'alice').send({});
    assert.equal(customer.status, 403);
    const admin = await request(app)
      .put('/stock/A')
      .set('x-user-id', 'root')
      .set('x-user-roles', 'admin')
      .send({});
    assert.equal(admin.status, 200);
    assert.equal((await request(app).get('/stock/A')).status, 200, 'reads are not guarded');
  });
});
