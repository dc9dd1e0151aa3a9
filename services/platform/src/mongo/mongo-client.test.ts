import assert from 'node:assert/strict';
import { startMongo, type MongoServer } from '@emporium/harness';
import { MongoServerError, type MongoClient } from 'mongodb';
import { AppError } from '../errors.js';
import {
  createMongoClient,
  isMongoUnavailableError,
  mongoClientOptions,
  pingMongo,
  toMongoUnavailable,
  withMongoUnavailable,
} from './mongo-client.js';

describe('mongo client', () => {
  let server: MongoServer;
  let client: MongoClient;

  before(async () => {
    server = await startMongo();
    client = createMongoClient({
      url: server.url,
      appName: 'mongo-client-test',
      serverSelectionTimeoutMs: 1_000,
      connectTimeoutMs: 1_000,
    });
  });

  after(async () => {
    await client.close();
    await server.stop();
  });

  it('builds DocumentDB-ready options: TLS with the CA bundle, no retryable writes', () => {
    const options = mongoClientOptions({
      url: 'mongodb://docdb.example:27017/?replicaSet=rs0',
      appName: 'orders',
      tlsCaFile: '/etc/ssl/global-bundle.pem',
      retryWrites: false,
      readPreference: 'secondaryPreferred',
    });
    assert.equal(options.tls, true);
    assert.equal(options.tlsCAFile, '/etc/ssl/global-bundle.pem');
    assert.equal(options.retryWrites, false);
    assert.equal(options.readPreference, 'secondaryPreferred');
    assert.equal(options.serverSelectionTimeoutMS, 5_000);
    assert.ok((options.socketTimeoutMS ?? 0) > 0, 'the socket timeout is bounded');
    // A local FerretDB URL gets no TLS or write settings it did not ask for.
    const local = mongoClientOptions({ url: server.url, appName: 'orders' });
    assert.equal('tls' in local, false);
    assert.equal('retryWrites' in local, false);
  });

  it('pings while the server is up and passes non-connection errors through unchanged', async () => {
    await pingMongo(client);
    const things = client.db('mongo_client_test').collection<{ _id: string }>('things');
    await things.insertOne({ _id: 'x' });
    const duplicate = await withMongoUnavailable(() => things.insertOne({ _id: 'x' })).catch(
      (error: unknown) => error,
    );
    assert.ok(duplicate instanceof MongoServerError, 'a duplicate key is not a 503');
    assert.equal(duplicate.code, 11000);
    assert.equal(isMongoUnavailableError(duplicate), false);
    const bug = new TypeError('bug');
    assert.equal(toMongoUnavailable(bug), bug);
  });

  it('maps a stopped server to a 503 AppError with Retry-After, fast', async () => {
    const things = client.db('mongo_client_test').collection<{ _id: string }>('things');
    await things.findOne({ _id: 'x' });
    await server.stop();

    const started = Date.now();
    const error = await withMongoUnavailable(() => things.findOne({ _id: 'x' }), 7).catch(
      (e: unknown) => e,
    );
    const elapsedMs = Date.now() - started;
    assert.ok(error instanceof AppError, `got ${String(error)}`);
    assert.equal(error.status, 503);
    assert.equal(error.code, 'UNAVAILABLE');
    assert.equal(error.headers['retry-after'], '7');
    assert.ok(isMongoUnavailableError(error.cause), 'the driver error is kept as the cause');
    assert.ok(elapsedMs < 5_000, `failed within the selection timeout (${String(elapsedMs)} ms)`);

    await assert.rejects(pingMongo(client, 3_000));
  });
});
