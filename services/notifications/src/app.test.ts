import assert from 'node:assert/strict';
import { assertValidOpenApi, runNodeScript, startMongo, type MongoServer } from '@emporium/harness';
import { createMetrics, type HttpApp } from '@emporium/platform';
import { startTokenIssuer, type TokenIssuer } from '@emporium/platform/testing';
import { MongoClient, ObjectId } from 'mongodb';
import { pino } from 'pino';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import type { Notification } from './domain/notification.js';
import {
  notificationKey,
  notificationsRepository,
  type NotificationsRepository,
} from './repositories/notifications.repository.js';

describe('notifications HTTP API', () => {
  let mongo: MongoServer;
  let client: MongoClient;
  let notifications: NotificationsRepository;
  let http: HttpApp;
  let issuer: TokenIssuer;
  /** An admin's `Authorization`: what requests that are not about who calls carry. */
  let adminBearer: string;
  /** A user's `Authorization`, signed by the test identity provider. */
  const as = async (userId: string, roles: string[] = []): Promise<string> =>
    `Bearer ${await issuer.userToken(userId, roles)}`;
  /** Requests as an admin, who may act for anyone. */
  const api = (app = http.app) => request.agent(app).set('authorization', adminBearer);

  const notification = (eventId: string, userId: string, createdAt: string): Notification => ({
    notificationId: `n-${eventId}-${userId}`,
    userId,
    orderId: 'o-1',
    eventId,
    eventType: 'OrderPlaced',
    message: `message of ${eventId}`,
    createdAt,
  });

  before(async () => {
    mongo = await startMongo();
    issuer = await startTokenIssuer();
    adminBearer = await as('u-admin', ['admin']);
    client = new MongoClient(mongo.url);
    notifications = notificationsRepository(client.db('notifications_api_test'));
    await notifications.ensureIndexes();
    const config = configSchema.parse({
      ...issuer.env,
      KAFKA_BROKERS: '127.0.0.1:1',
      MONGO_URL: mongo.url,
    });
    http = buildApp(config, {
      notifications,
      metrics: createMetrics({ service: 'notifications', runtimeMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    // Inserted out of order: the API sorts by when the events happened.
    for (const n of [
      notification('e-2', 'u-1', '2026-11-27T10:00:02.000Z'),
      notification('e-1', 'u-1', '2026-11-27T10:00:01.000Z'),
      notification('e-3', 'u-1', '2026-11-27T10:00:03.000Z'),
      notification('e-1', 'u-2', '2026-11-27T10:00:01.000Z'),
    ]) {
      assert.equal(await notifications.add(n), true);
    }
  });
  after(async () => {
    await client.close();
    await issuer.stop();
    await mongo.stop();
  });

  it("lists a customer's notifications oldest first", async () => {
    const response = await api().get('/notifications?userId=u-1');
    assert.equal(response.status, 200);
    const { items } = response.body as { items: Notification[] };
    assert.deepEqual(
      items.map((n) => n.eventId),
      ['e-1', 'e-2', 'e-3'],
    );
    assert.deepEqual(items[0], notification('e-1', 'u-1', '2026-11-27T10:00:01.000Z'));
  });

  it('an empty list for a customer without notifications', async () => {
    const response = await api().get('/notifications?userId=u-none');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { items: [] });
  });

  it('one notification per event and user: a duplicate is refused by its `_id`', async () => {
    const again = {
      ...notification('e-1', 'u-1', '2026-11-27T10:00:09.000Z'),
      notificationId: 'x',
    };
    assert.equal(await notifications.add(again), false);
    assert.equal(await notifications.collection.countDocuments({ eventId: 'e-1' }), 2);
  });

  it('stores each notification under `_id` = user and event, which alone refuses a duplicate', async () => {
    const stored = await notifications.collection.findOne({ _id: notificationKey('u-1', 'e-2') });
    assert.equal(stored?._id, 'u-1:e-2');
    assert.equal(stored.eventId, 'e-2');
    assert.equal(stored.userId, 'u-1');
    // A database without any secondary index: only `_id` can refuse the duplicate.
    const bare = notificationsRepository(client.db('notifications_id_only_test'));
    const first = notification('e-9', 'u-9', '2026-11-27T10:00:01.000Z');
    assert.equal(await bare.add(first), true);
    assert.equal(await bare.add({ ...first, notificationId: 'again' }), false);
    assert.deepEqual(await bare.listByUser('u-9'), [first]);
  });

  it('lists notifications stored before `_id` was the key beside newer ones', async () => {
    // As an earlier version left them: ObjectId `_id`s.
    const db = client.db('notifications_legacy_test');
    const old = notification('e-old', 'u-7', '2026-11-27T10:00:01.000Z');
    await db.collection('notifications').insertOne({ _id: new ObjectId(), ...old });
    const legacy = notificationsRepository(db);
    await legacy.ensureIndexes();
    const newer = notification('e-new', 'u-7', '2026-11-27T10:00:02.000Z');
    assert.equal(await legacy.add(newer), true);
    assert.deepEqual(await legacy.listByUser('u-7'), [old, newer]);
  });

  it('lets a customer read their own list and an admin anyone’s', async () => {
    const own = await request(http.app)
      .get('/notifications?userId=u-1')
      .set('authorization', await as('u-1'));
    assert.equal(own.status, 200);
    assert.equal((own.body as { items: unknown[] }).items.length, 3);
    const admin = await request(http.app)
      .get('/notifications?userId=u-2')
      .set('authorization', await as('u-staff', ['admin']));
    assert.equal(admin.status, 200);
    assert.equal((admin.body as { items: unknown[] }).items.length, 1);
  });

  it("403 problem for another customer's notifications", async () => {
    const response = await request(http.app)
      .get('/notifications?userId=u-1')
      .set('authorization', await as('u-2', ['customer']));
    assert.equal(response.status, 403);
    assert.match(String(response.headers['content-type']), /application\/problem\+json/);
    assert.equal((response.body as { code: string }).code, 'FORBIDDEN');
  });

  it('400 with the field path without a userId, or with a malformed one', async () => {
    for (const path of ['/notifications', '/notifications?userId=not%20an%20id!']) {
      const response = await api().get(path);
      assert.equal(response.status, 400, path);
      const body = response.body as { code: string; errors: { path: string }[] };
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.equal(body.errors[0]?.path, 'query.userId');
    }
  });

  it('401 without a token or with forged identity headers, 403 for a service', async () => {
    const forged = { 'x-user-id': 'u-1', 'x-user-roles': 'admin' };
    const service = `Bearer ${await issuer.serviceToken('orders', 'notifications')}`;
    const anonymous = await request(http.app).get('/notifications?userId=u-1').set(forged);
    assert.equal(anonymous.status, 401);
    assert.equal((anonymous.body as { code: string }).code, 'TOKEN_REQUIRED');
    assert.equal((anonymous.body as { items?: unknown }).items, undefined);
    const fromService = await request(http.app)
      .get('/notifications?userId=u-1')
      .set('authorization', service);
    assert.equal(fromService.status, 403);
    assert.equal((fromService.body as { code: string }).code, 'CALLER_NOT_ALLOWED');
  });

  it('serves a valid OpenAPI 3.1 document whose 4xx responses are the ones tested above', async () => {
    const response = await api().get('/openapi.json');
    assert.equal(response.status, 200);
    await assertValidOpenApi(response.body);
    const get = (
      response.body as { paths: Record<string, { get: { responses: Record<string, unknown> } }> }
    ).paths['/notifications']?.get;
    const clientErrors = Object.keys(get?.responses ?? {}).filter((status) =>
      status.startsWith('4'),
    );
    assert.deepEqual(clientErrors.sort(), ['400', '401', '403']);
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stderr } = await runNodeScript(main, {
      PORT: 'x',
      MONGO_URL: 'http://db',
      MONGO_DATABASE: 'a b',
    });
    assert.equal(code, 78);
    for (const variable of [
      'PORT',
      'MONGO_URL',
      'MONGO_DATABASE',
      'KAFKA_BROKERS',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
    ]) {
      assert.match(stderr, new RegExp(`^ {2}${variable}: `, 'm'));
    }
  });
});
