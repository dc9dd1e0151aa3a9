import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import request from 'supertest';
import { z } from 'zod';
import { startTokenIssuer, type TokenIssuer } from '../auth/token-issuer.js';
import { createCallerVerifier, isAdmin, mayActFor, type Caller } from '../auth/verifiers.js';
import { callerVerifierOptions, authConfigShape } from '../auth/auth-config.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createHttpApp } from './http-app.js';
import { callerOf } from './identity.js';

const OK = z.object({}).loose();

/** What the test app and the platform's problems answer. */
interface Answer {
  caller?: unknown;
  code?: string;
}

/** A tiny app whose routes each declare who may call them, verifying with `issuer`'s keys. */
function appFor(issuer: TokenIssuer, metrics: Metrics) {
  const config = z.object(authConfigShape).parse(issuer.env);
  const { app, routes } = createHttpApp({
    service: 'inventory',
    version: '0',
    metrics,
    logger: pino({ level: 'silent' }),
    openapi: { title: 'identity-test', version: '0' },
    callers: createCallerVerifier(callerVerifierOptions(config, 'inventory')),
  });
  const who = (req: object): Caller | undefined => callerOf(req);
  routes.get('/open', { access: 'anonymous', responses: { 200: OK } }, (req, res) => {
    res.json({ caller: who(req) ?? null });
  });
  routes.get('/mine', { access: 'user', responses: { 200: OK } }, (req, res) => {
    res.json({ caller: who(req) });
  });
  routes.put(
    '/stock',
    { access: 'admin', body: z.object({ n: z.number() }), responses: { 200: OK } },
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  routes.post(
    '/reservations',
    { access: { services: ['orders'] }, responses: { 200: OK } },
    (req, res) => {
      res.json({ caller: who(req) });
    },
  );
  return app;
}

describe('callers proven by their tokens', () => {
  let issuer: TokenIssuer;
  let metrics: Metrics;
  let app: ReturnType<typeof appFor>;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    issuer = await startTokenIssuer();
  });
  beforeEach(() => {
    metrics = createMetrics({ service: 'identity-test', runtimeMetrics: false });
    app = appFor(issuer, metrics);
  });
  after(async () => {
    await issuer.stop();
  });

  it('believes no identity header: forged ones leave the caller anonymous', async () => {
    const forged = { 'x-user-id': 'alice', 'x-user-roles': 'admin' };
    const open = await request(app).get('/open').set(forged).expect(200);
    assert.equal((open.body as Answer).caller, null);
    const mine = await request(app).get('/mine').set(forged).expect(401);
    assert.equal((mine.body as Answer).code, 'TOKEN_REQUIRED');
    assert.match(String(mine.headers['www-authenticate']), /^Bearer/);
    const stock = await request(app).put('/stock').set(forged).send({ n: 1 }).expect(401);
    assert.equal((stock.body as Answer).code, 'TOKEN_REQUIRED');
    await request(app).post('/reservations').set(forged).expect(401);
  });

  it('takes a user token for user routes, and the admin role for admin ones', async () => {
    const alice = await issuer.userToken('alice', ['Customer']);
    const mine = await request(app).get('/mine').set(bearer(alice)).expect(200);
    assert.deepEqual((mine.body as Answer).caller, {
      kind: 'user',
      userId: 'alice',
      roles: ['customer'],
    });
    // Refused before the body is parsed: a malformed body changes nothing.
    const stock = await request(app)
      .put('/stock')
      .set(bearer(alice))
      .set('content-type', 'application/json')
      .send('{not json')
      .expect(403);
    assert.equal((stock.body as Answer).code, 'ADMIN_REQUIRED');
    const root = await issuer.userToken('root', ['admin']);
    await request(app).put('/stock').set(bearer(root)).send({ n: 1 }).expect(200);
    // A user token is not a service's identity, whatever its roles.
    const asService = await request(app).post('/reservations').set(bearer(root)).expect(403);
    assert.equal((asService.body as Answer).code, 'CALLER_NOT_ALLOWED');
  });

  it('takes a workload token only from a named service, and only for this service', async () => {
    const orders = await issuer.serviceToken('orders', 'inventory');
    const ok = await request(app).post('/reservations').set(bearer(orders)).expect(200);
    assert.deepEqual((ok.body as Answer).caller, { kind: 'service', service: 'orders' });
    // A service is not a user: user routes refuse it.
    await request(app).get('/mine').set(bearer(orders)).expect(403);
    const cart = await issuer.serviceToken('cart', 'inventory');
    const other = await request(app).post('/reservations').set(bearer(cart)).expect(403);
    assert.equal((other.body as Answer).code, 'CALLER_NOT_ALLOWED');
    // Minted for another audience: no good here.
    const elsewhere = await issuer.serviceToken('orders', 'cart');
    const refused = await request(app).post('/reservations').set(bearer(elsewhere)).expect(401);
    assert.equal((refused.body as Answer).code, 'INVALID_TOKEN');
  });

  it('refuses forged, expired and foreign tokens with 401, counted by reason', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { sub: 'alice', iss: 'emporium-local-users', aud: 'emporium', exp: 2e9 };
    const cases: [string, string][] = [
      ['not-a-jwt', 'malformed'],
      [`${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`, 'algorithm'],
      [
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'nope' })
          .sign(privateKey),
        'unknown_key',
      ],
      [await issuer.userToken('alice', [], -60), 'expired'],
      [
        await new SignJWT({ ...claims, iss: 'someone-else' })
          .setProtectedHeader({ alg: 'RS256' })
          .sign(privateKey),
        'issuer',
      ],
    ];
    for (const [token, reason] of cases) {
      const res = await request(app).get('/mine').set(bearer(token)).expect(401);
      assert.equal((res.body as Answer).code, 'INVALID_TOKEN', reason);
      const text = await metrics.registry.metrics();
      assert.match(
        text,
        new RegExp(`auth_tokens_refused_total{[^}]*reason="${reason}"[^}]*} 1`),
        `${reason}:\n${text}`,
      );
    }
    // A bad token is refused even on an anonymous route: it is never taken for nobody.
    await request(app).get('/open').set(bearer('not-a-jwt')).expect(401);
    await request(app).get('/open').set('authorization', 'Basic abc').expect(401);
  });

  it('lets a user act for themself and an admin for anyone; services and nobody for no one', () => {
    const alice: Caller = { kind: 'user', userId: 'alice', roles: [] };
    const admin: Caller = { kind: 'user', userId: 'root', roles: ['admin'] };
    const orders: Caller = { kind: 'service', service: 'orders' };
    assert.ok(mayActFor(alice, 'alice'));
    assert.ok(!mayActFor(alice, 'bob'));
    assert.ok(mayActFor(admin, 'bob'));
    assert.ok(!mayActFor(undefined, 'bob'));
    assert.ok(!mayActFor(orders, 'bob'));
    assert.ok(isAdmin(admin) && !isAdmin(alice) && !isAdmin(undefined) && !isAdmin(orders));
  });
});
