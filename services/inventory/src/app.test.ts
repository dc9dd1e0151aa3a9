import assert from 'node:assert/strict';
import { assertValidOpenApi, runNodeScript, startMongo, type MongoServer } from '@emporium/harness';
import { createMetrics, type HttpApp, type Metrics } from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import { startReservation } from './domain/reservation.js';
import {
  reservationsRepository,
  type ReservationsRepository,
} from './repositories/reservations.repository.js';
import { stockRepository, type StockRepository } from './repositories/stock.repository.js';

interface Problem {
  code: string;
  skus?: string[];
  errors?: { path: string }[];
}

describe('inventory HTTP API', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  let stock: StockRepository;
  let reservations: ReservationsRepository;
  let metrics: Metrics;
  let http: HttpApp;
  let issuer: TokenIssuer;
  /** An admin's `Authorization`: what stock writes and reservation reads carry. */
  let adminBearer: string;
  /** Orders' workload token for inventory: the only caller of POST /reservations. */
  let ordersBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);
  /** Requests as orders, with its workload token for inventory. */
  const asOrders = (app = http.app) => request.agent(app).set('authorization', ordersBearer);
  // Every 4xx status exercised below, per documented operation.
  const exercised = new Map<string, Set<string>>();
  const saw = (operation: string, status: number): void => {
    const set = exercised.get(operation) ?? new Set<string>();
    set.add(String(status));
    exercised.set(operation, set);
  };

  const setStock = async (sku: string, available: number) => {
    const response = await api().put(`/stock/${sku}`).send({ available });
    assert.equal(response.status, 200);
  };
  const reserve = (orderId: string, lines: { sku: string; quantity: number }[]) =>
    asOrders().post('/reservations').send({ orderId, lines });
  const level = async (sku: string) => {
    const response = await request(http.app).get(`/stock/${sku}`);
    assert.equal(response.status, 200);
    return response.body as { available: number; reserved: number; committed: number };
  };

  before(async () => {
    mongo = await startMongo();
    issuer = await startTokenIssuer();
    adminBearer = await as('u-admin', ['shopper', 'admin']);
    ordersBearer = `Bearer ${await issuer.serviceToken('orders', 'inventory')}`;
    client = new MongoClient(mongo.url, { maxPoolSize: 40 });
    const db = client.db('inventory_api_test');
    stock = stockRepository(db);
    reservations = reservationsRepository(db, stock, {
      timings: { waitMs: 300, pollMs: 10, leaseMs: 60_000 },
    });
    await stock.ensureIndexes();
    await reservations.ensureIndexes();
    const config = configSchema.parse({
      ...issuer.env,
      KAFKA_BROKERS: '127.0.0.1:1',
      MONGO_URL: mongo.url,
    });
    metrics = createMetrics({ service: 'inventory', runtimeMetrics: false });
    http = buildApp(config, { stock, reservations, metrics, logger: pino({ level: 'silent' }) });
  });
  after(async () => {
    await client.close();
    await issuer.stop();
    await mongo.stop();
  });

  describe('stock', () => {
    it('an admin sets available units; reads show them, reserved and committed', async () => {
      const put = await api().put('/stock/MUG-CER-350').send({ available: 12 });
      assert.equal(put.status, 200);
      assert.deepEqual(put.body, { sku: 'MUG-CER-350', available: 12, reserved: 0, committed: 0 });
      const get = await request(http.app).get('/stock/MUG-CER-350');
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, put.body);
    });

    it('401 without a token and 403 without the admin role, before the body is looked at', async () => {
      const anonymous = await request(http.app).put('/stock/MUG-CER-350').send({ available: 1 });
      assert.equal(anonymous.status, 401);
      assert.equal((anonymous.body as Problem).code, 'TOKEN_REQUIRED');
      saw('put /stock/{sku}', anonymous.status);
      const shopper = await request(http.app)
        .put('/stock/MUG-CER-350')
        .set('authorization', await as('u-1', ['shopper', 'administrator']))
        .set('content-type', 'application/json')
        .send('{not json');
      assert.equal(shopper.status, 403);
      assert.match(String(shopper.headers['content-type']), /application\/problem\+json/);
      assert.equal((shopper.body as Problem).code, 'ADMIN_REQUIRED');
      saw('put /stock/{sku}', shopper.status);
      assert.equal((await level('MUG-CER-350')).available, 12);
    });

    it('400 for malformed JSON, wrong types and bad skus; 413 and 415 for the body', async () => {
      const put = () => api().put('/stock/MUG-CER-350');
      const malformed = await put().set('content-type', 'application/json').send('{"available":');
      assert.equal(malformed.status, 400);
      assert.equal((malformed.body as Problem).code, 'MALFORMED_REQUEST');
      const wrongType = await put().send({ available: '12' });
      assert.equal(wrongType.status, 400);
      assert.equal((wrongType.body as Problem).errors?.[0]?.path, 'body.available');
      const negative = await put().send({ available: -1 });
      assert.equal(negative.status, 400);
      const badSku = await api().put('/stock/mug!').send({ available: 1 });
      assert.equal((badSku.body as Problem).errors?.[0]?.path, 'params.sku');
      saw('put /stock/{sku}', badSku.status);
      const tooLarge = await put().send({ available: 1, padding: 'x'.repeat(200_000) });
      assert.equal(tooLarge.status, 413);
      saw('put /stock/{sku}', tooLarge.status);
      const text = await put().set('content-type', 'text/plain').send('available=1');
      assert.equal(text.status, 415);
      saw('put /stock/{sku}', text.status);

      const unknown = await request(http.app).get('/stock/NO-SUCH-SKU');
      assert.equal(unknown.status, 404);
      assert.equal((unknown.body as Problem).code, 'STOCK_NOT_FOUND');
      saw('get /stock/{sku}', unknown.status);
      const invalid = await request(http.app).get('/stock/not%20a%20sku');
      assert.equal(invalid.status, 400);
      assert.equal((invalid.body as Problem).errors?.[0]?.path, 'params.sku');
      saw('get /stock/{sku}', invalid.status);
    });
  });

  describe('reservations', () => {
    it('reserves every line (201 + Location) and answers a repeat with the same one (200)', async () => {
      await setStock('TEE-M', 10);
      await setStock('CAP-1', 3);
      const lines = [
        { sku: 'TEE-M', quantity: 2 },
        { sku: 'CAP-1', quantity: 3 },
      ];
      const first = await reserve('o-happy', lines);
      assert.equal(first.status, 201);
      assert.equal(first.headers.location, '/reservations/o-happy');
      const { expiresAt } = first.body as { expiresAt: string };
      // Held for the default RESERVATION_TTL_MS (15 min) unless the order is seen placed.
      const heldFor = Date.parse(expiresAt) - Date.now();
      assert.ok(heldFor > 14 * 60_000 && heldFor <= 15 * 60_000, expiresAt);
      const expected = {
        orderId: 'o-happy',
        status: 'RESERVED',
        lines: [
          { sku: 'CAP-1', quantity: 3 },
          { sku: 'TEE-M', quantity: 2 },
        ],
        expiresAt,
      };
      assert.deepEqual(first.body, expected);
      const again = await reserve('o-happy', lines);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, expected);
      assert.deepEqual(await level('TEE-M'), {
        sku: 'TEE-M',
        available: 8,
        reserved: 2,
        committed: 0,
      });
      assert.deepEqual(await level('CAP-1'), {
        sku: 'CAP-1',
        available: 0,
        reserved: 3,
        committed: 0,
      });
      const get = await api().get('/reservations/o-happy');
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, expected);
    });

    it('409 RESERVATION_MISMATCH for a repeat of an order id with other lines; nothing more is held', async () => {
      await setStock('DIFF-1', 10);
      await setStock('DIFF-2', 10);
      assert.equal((await reserve('o-diff', [{ sku: 'DIFF-1', quantity: 2 }])).status, 201);
      // The same order id after the cart changed (a retry with the same Idempotency-Key).
      const changed = await reserve('o-diff', [
        { sku: 'DIFF-1', quantity: 2 },
        { sku: 'DIFF-2', quantity: 1 },
      ]);
      assert.equal(changed.status, 409);
      assert.match(String(changed.headers['content-type']), /application\/problem\+json/);
      const problem = changed.body as Problem & { lines: unknown };
      assert.equal(problem.code, 'RESERVATION_MISMATCH');
      assert.deepEqual(problem.lines, [{ sku: 'DIFF-1', quantity: 2 }]);
      saw('post /reservations', changed.status);
      // The same lines in another order, or a sku split in two, are the same request.
      const same = await reserve('o-diff', [
        { sku: 'DIFF-1', quantity: 1 },
        { sku: 'DIFF-1', quantity: 1 },
      ]);
      assert.equal(same.status, 200);
      assert.deepEqual(await level('DIFF-2'), {
        sku: 'DIFF-2',
        available: 10,
        reserved: 0,
        committed: 0,
      });
      assert.equal((await level('DIFF-1')).reserved, 2);
    });

    it('409 INSUFFICIENT_STOCK names every short or unknown sku and holds nothing', async () => {
      await setStock('SOCK-1', 5);
      await setStock('SOCK-2', 1);
      const response = await reserve('o-short', [
        { sku: 'SOCK-1', quantity: 5 },
        { sku: 'SOCK-2', quantity: 2 },
        { sku: 'NOT-STOCKED', quantity: 1 },
      ]);
      assert.equal(response.status, 409);
      const body = response.body as Problem;
      assert.equal(body.code, 'INSUFFICIENT_STOCK');
      assert.deepEqual(body.skus, ['NOT-STOCKED', 'SOCK-2']);
      saw('post /reservations', response.status);
      assert.equal((await level('SOCK-1')).available, 5);
      assert.equal((await level('SOCK-1')).reserved, 0);
      assert.equal((await level('SOCK-2')).available, 1);
      const get = await api().get('/reservations/o-short');
      assert.equal(get.status, 404);
      assert.equal((get.body as Problem).code, 'RESERVATION_NOT_FOUND');
      saw('get /reservations/{orderId}', get.status);
      // Nothing was kept, so the same order may try again once stock is there.
      await setStock('SOCK-2', 2);
      await setStock('NOT-STOCKED', 1);
      const retry = await reserve('o-short', [
        { sku: 'SOCK-1', quantity: 5 },
        { sku: 'SOCK-2', quantity: 2 },
        { sku: 'NOT-STOCKED', quantity: 1 },
      ]);
      assert.equal(retry.status, 201);
    });

    it('concurrent orders for the last units never drive available below zero', async () => {
      await setStock('LAST-UNITS', 5);
      const responses = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          reserve(`o-race-${String(i)}`, [{ sku: 'LAST-UNITS', quantity: 1 + (i % 2) }]),
        ),
      );
      const won = responses.filter((r) => r.status === 201);
      assert.ok(responses.every((r) => r.status === 201 || r.status === 409));
      const units = won.reduce(
        (sum, r) => sum + ((r.body as { lines: { quantity: number }[] }).lines[0]?.quantity ?? 0),
        0,
      );
      const after = await level('LAST-UNITS');
      assert.ok(after.available >= 0);
      assert.equal(after.reserved, units);
      assert.equal(after.available + after.reserved, 5);
      // With 1- and 2-unit orders racing, the last unit can only stay free if only 2s are left.
      assert.ok(units >= 4, `only ${String(units)} units reserved`);
      assert.equal(
        await reservations.collection.countDocuments({ orderId: /^o-race-/, status: 'RESERVED' }),
        won.length,
      );
    });

    it('concurrent repeats of one order reserve it once', async () => {
      await setStock('DUP-1', 10);
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => reserve('o-dup', [{ sku: 'DUP-1', quantity: 3 }])),
      );
      assert.deepEqual(
        responses.map((r) => r.status).sort(),
        [200, 200, 200, 200, 200, 200, 200, 201],
      );
      assert.deepEqual(await level('DUP-1'), {
        sku: 'DUP-1',
        available: 7,
        reserved: 3,
        committed: 0,
      });
    });

    it('409 RESERVATION_IN_PROGRESS with Retry-After while another attempt is reserving', async () => {
      const busy = startReservation('o-busy', [{ sku: 'DUP-1', quantity: 1 }], new Date());
      await reservations.collection.insertOne({ _id: busy.orderId, ...busy });
      const response = await reserve('o-busy', [{ sku: 'DUP-1', quantity: 1 }]);
      assert.equal(response.status, 409);
      assert.equal((response.body as Problem).code, 'RESERVATION_IN_PROGRESS');
      assert.equal(response.headers['retry-after'], '1');
      const get = await api().get('/reservations/o-busy');
      assert.equal(get.status, 404);
    });

    it('a retry takes over an abandoned attempt without taking its units twice', async () => {
      await setStock('CRASH-1', 4);
      await setStock('CRASH-2', 4);
      // A process died after taking CRASH-1 and before CRASH-2.
      const old = new Date(Date.now() - 120_000);
      const lines = [
        { sku: 'CRASH-1', quantity: 2 },
        { sku: 'CRASH-2', quantity: 1 },
      ];
      const crashed = startReservation('o-crash', lines, old);
      await reservations.collection.insertOne({ _id: crashed.orderId, ...crashed });
      // Its work-list entry was written before its first take, as the repository does.
      const dueAt = crashed.expiresAt ?? '';
      await reservations.expiries.insertOne({ _id: crashed.orderId, expiresAt: dueAt });
      assert.equal(await stock.take('CRASH-1', 'o-crash', 2, old), 'taken');
      const response = await reserve('o-crash', lines);
      assert.equal(response.status, 201);
      // Still on the sweeper's work list, at the expiry the taken-over attempt started from.
      assert.deepEqual(await reservations.expiries.findOne({ _id: 'o-crash' }), {
        _id: 'o-crash',
        expiresAt: dueAt,
      });
      assert.deepEqual(await level('CRASH-1'), {
        sku: 'CRASH-1',
        available: 2,
        reserved: 2,
        committed: 0,
      });
      assert.deepEqual(await level('CRASH-2'), {
        sku: 'CRASH-2',
        available: 3,
        reserved: 1,
        committed: 0,
      });
    });

    it('400 for malformed JSON, wrong types and bad lines; 413 and 415 for the body', async () => {
      const post = () => asOrders().post('/reservations');
      const malformed = await post().set('content-type', 'application/json').send('{"orderId"');
      assert.equal(malformed.status, 400);
      assert.equal((malformed.body as Problem).code, 'MALFORMED_REQUEST');
      saw('post /reservations', malformed.status);
      const wrongType = await post().send({
        orderId: 'o-x',
        lines: [{ sku: 'TEE-M', quantity: '1' }],
      });
      assert.equal(wrongType.status, 400);
      assert.equal((wrongType.body as Problem).errors?.[0]?.path, 'body.lines[0].quantity');
      const empty = await post().send({ orderId: 'o x', lines: [] });
      assert.deepEqual((empty.body as Problem).errors?.map((e) => e.path).sort(), [
        'body.lines',
        'body.orderId',
      ]);
      const tooLarge = await post().send({
        orderId: 'o-big',
        lines: Array.from({ length: 5000 }, () => ({ sku: 'TEE-M', quantity: 1 })),
      });
      assert.equal(tooLarge.status, 413);
      saw('post /reservations', tooLarge.status);
      const text = await post().set('content-type', 'text/plain').send('o-1');
      assert.equal(text.status, 415);
      saw('post /reservations', text.status);
      const badId = await api().get('/reservations/bad%20id!');
      assert.equal(badId.status, 400);
      saw('get /reservations/{orderId}', badId.status);
    });
  });

  describe('callers', () => {
    it('401 without a token or with forged identity headers, 403 for a service not allowed', async () => {
      await setStock('GUARD-1', 5);
      const forged = { 'x-user-id': 'u-forger', 'x-user-roles': 'admin' };
      const service = `Bearer ${await issuer.serviceToken('some-service', 'inventory')}`;
      const lines = [{ sku: 'GUARD-1', quantity: 1 }];
      const calls = [
        [
          'post /reservations',
          () => request(http.app).post('/reservations').send({ orderId: 'o-guard', lines }),
        ],
        ['get /reservations/{orderId}', () => request(http.app).get('/reservations/o-happy')],
        ['put /stock/{sku}', () => request(http.app).put('/stock/GUARD-1').send({ available: 0 })],
      ] as const;
      for (const [operation, call] of calls) {
        const anonymous = await call().set(forged);
        assert.equal(anonymous.status, 401, operation);
        assert.equal((anonymous.body as Problem).code, 'TOKEN_REQUIRED', operation);
        assert.match(String(anonymous.headers['www-authenticate']), /^Bearer /);
        saw(operation, anonymous.status);
        const fromService = await call().set('authorization', service);
        assert.equal(fromService.status, 403, operation);
        assert.equal((fromService.body as Problem).code, 'CALLER_NOT_ALLOWED', operation);
        saw(operation, fromService.status);
      }
      assert.deepEqual(await level('GUARD-1'), {
        sku: 'GUARD-1',
        available: 5,
        reserved: 0,
        committed: 0,
      });
      assert.equal(await reservations.collection.countDocuments({ orderId: 'o-guard' }), 0);
    });

    it('reservations are for orders only: 403 for any user, even an admin; 401 for a token minted for another service', async () => {
      const body = { orderId: 'o-user', lines: [{ sku: 'GUARD-1', quantity: 1 }] };
      for (const roles of [[], ['admin']]) {
        const user = await request(http.app)
          .post('/reservations')
          .set('authorization', await as('u-1', roles))
          .send(body);
        assert.equal(user.status, 403, roles.join());
        assert.equal((user.body as Problem).code, 'CALLER_NOT_ALLOWED');
      }
      const elsewhere = await request(http.app)
        .post('/reservations')
        .set('authorization', `Bearer ${await issuer.serviceToken('orders', 'cart')}`)
        .send(body);
      assert.equal(elsewhere.status, 401);
      assert.equal((elsewhere.body as Problem).code, 'INVALID_TOKEN');
      assert.equal(await reservations.collection.countDocuments({ orderId: 'o-user' }), 0);
      // A customer may not read a reservation either.
      const customer = await request(http.app)
        .get('/reservations/o-happy')
        .set('authorization', await as('u-1'));
      assert.equal(customer.status, 403);
      assert.equal((customer.body as Problem).code, 'ADMIN_REQUIRED');
    });

    it('stock levels answer anyone without a token, and 401 for a bad one', async () => {
      const anonymous = await request(http.app).get('/stock/GUARD-1');
      assert.equal(anonymous.status, 200);
      // Forged headers change nothing: they are ignored, not refused.
      const forged = await request(http.app)
        .get('/stock/GUARD-1')
        .set({ 'x-user-id': 'u-forger', 'x-user-roles': 'admin' });
      assert.equal(forged.status, 200);
      assert.deepEqual(forged.body, anonymous.body);
      const bad = await request(http.app)
        .get('/stock/GUARD-1')
        .set('authorization', 'Bearer not.a.token');
      assert.equal(bad.status, 401);
      assert.equal((bad.body as Problem).code, 'INVALID_TOKEN');
      saw('get /stock/{sku}', bad.status);
    });
  });

  describe('storage keys', () => {
    it('stores stock under its sku and reservations under their order id', async () => {
      await setStock('KEY-1', 3);
      assert.equal((await reserve('o-key', [{ sku: 'KEY-1', quantity: 1 }])).status, 201);
      const stored = await stock.collection.findOne({ _id: 'KEY-1' });
      assert.equal(stored?.sku, 'KEY-1');
      assert.deepEqual(stored.holds, ['o-key']);
      assert.equal((await reservations.collection.findOne({ _id: 'o-key' }))?.orderId, 'o-key');
    });

    it('documents of earlier versions (ObjectId _id) and their indexes break nothing', async () => {
      const db = client.db('inventory_legacy_test');
      const at = new Date().toISOString();
      // As the version before natural keys stored them: generated _id, unique natural keys.
      const oldStock = db.collection('stock');
      await oldStock.createIndex({ sku: 1 }, { unique: true, name: 'sku_unique' });
      await oldStock.insertOne({
        sku: 'OLD-1',
        available: 5,
        reserved: 1,
        committed: 0,
        holds: ['o-old'],
        updatedAt: at,
      });
      const oldReservations = db.collection('reservations');
      await oldReservations.createIndex({ orderId: 1 }, { unique: true, name: 'order_unique' });
      await oldReservations.createIndex({ expiresAt: 1 }, { name: 'expires_at' });
      await oldReservations.insertOne({
        orderId: 'o-old',
        status: 'RESERVED',
        lines: [{ sku: 'OLD-1', quantity: 1 }],
        createdAt: at,
        updatedAt: at,
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
      });

      const legacyStock = stockRepository(db);
      const legacyReservations = reservationsRepository(db, legacyStock);
      await legacyStock.ensureIndexes();
      await legacyReservations.ensureIndexes();
      await legacyStock.ensureIndexes(); // again, as every start does: nothing left to drop
      await legacyReservations.ensureIndexes();
      const names = async (collection: { indexes(): Promise<{ name?: string }[]> }) =>
        (await collection.indexes()).map((index) => index.name).sort();
      assert.deepEqual(await names(oldStock), ['_id_']);
      assert.deepEqual(await names(oldReservations), ['_id_']);

      const config = configSchema.parse({
        ...issuer.env,
        KAFKA_BROKERS: '127.0.0.1:1',
        MONGO_URL: mongo.url,
      });
      const legacy = buildApp(config, {
        stock: legacyStock,
        reservations: legacyReservations,
        metrics: createMetrics({ service: 'inventory', runtimeMetrics: false }),
        logger: pino({ level: 'silent' }),
      }).app;
      // The old records are no longer found by their key; new ones take the key without a clash.
      assert.equal((await request(legacy).get('/stock/OLD-1')).status, 404);
      const put = await api(legacy).put('/stock/OLD-1').send({ available: 2 });
      assert.equal(put.status, 200);
      assert.equal((await api(legacy).get('/reservations/o-old')).status, 404);
      const again = await asOrders(legacy)
        .post('/reservations')
        .send({ orderId: 'o-old', lines: [{ sku: 'OLD-1', quantity: 2 }] });
      assert.equal(again.status, 201);
      assert.equal((await api(legacy).get('/reservations/o-old')).status, 200);
      // The sweeper never sees the old reservation, and the gauge still sums every record.
      assert.deepEqual(
        (await legacyReservations.findExpired(10)).map((due) => due.orderId),
        [],
      );
      assert.equal((await request(legacy).get('/metrics')).status, 200);
      assert.deepEqual(await legacyStock.totals(), { available: 5, reserved: 3, committed: 0 });
    });
  });

  // Last: these read what the tests above did.
  describe('metrics and documents', () => {
    it('counts reservations by outcome and reports units by state', async () => {
      const reservationsText = await metrics.text('inventory_reservations_total');
      assert.match(
        reservationsText,
        /inventory_reservations_total\{outcome="reserved",service="inventory"\} \d+/,
      );
      assert.match(reservationsText, /outcome="insufficient_stock"/);
      assert.match(reservationsText, /outcome="replayed"/);
      const units = await request(http.app).get('/metrics');
      // Every state summed (the orders above still hold units), not just the first one.
      const totals = await stock.totals();
      assert.ok(totals.reserved > 0 && totals.available > 0);
      for (const [state, value] of Object.entries(totals)) {
        assert.match(
          units.text,
          new RegExp(
            `inventory_stock_units\\{state="${state}",service="inventory"\\} ${String(value)}\\n`,
          ),
        );
      }
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
          const clientErrors = Object.keys(operation.responses).filter((s) => s.startsWith('4'));
          if (clientErrors.length > 0) documented.set(`${method} ${path}`, clientErrors.sort());
        }
      }
      assert.deepEqual(
        Object.fromEntries(documented),
        Object.fromEntries([...exercised].map(([op, statuses]) => [op, [...statuses].sort()])),
      );
    });

    it('a start with a bad environment exits 78 naming each variable', async () => {
      const main = new URL('./main.ts', import.meta.url).pathname;
      const { code, stderr } = await runNodeScript(main, {
        PORT: 'x',
        MONGO_URL: 'http://db',
        INVENTORY_INITIAL_STOCK: '-1',
      });
      assert.equal(code, 78);
      for (const variable of [
        'PORT',
        'MONGO_URL',
        'KAFKA_BROKERS',
        'JWT_JWKS_URL',
        'JWT_ISSUER',
        'JWT_AUDIENCE',
        'INVENTORY_INITIAL_STOCK',
      ]) {
        assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
      }
    });
  });
});
