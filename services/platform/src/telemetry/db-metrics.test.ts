import assert from 'node:assert/strict';
import { startMongo, startRedis, type MongoServer, type RedisServer } from '@emporium/harness';
import type { Redis } from 'ioredis';
import type { MongoClient } from 'mongodb';
import { createMongoClient } from '../mongo/mongo-client.js';
import { createRedisClient } from '../redis/redis-client.js';
import { observeMongoCommands, observeRedisCommands } from './db-metrics.js';
import { createMetrics } from './metrics.js';

/** The histogram's `_count` samples, each with its labels. */
async function counts(
  metrics: ReturnType<typeof createMetrics>,
): Promise<{ labels: Record<string, string>; count: number }[]> {
  const text = await metrics.text('db_client_operation_duration_seconds');
  return text.split('\n').flatMap((line) => {
    const match = /^db_client_operation_duration_seconds_count\{([^}]*)\} (\d+)/.exec(line);
    if (!match?.[1] || !match[2]) return [];
    const labels = Object.fromEntries(
      [...match[1].matchAll(/(\w+)="([^"]*)"/g)].map(([, k = '', v = '']) => [k, v]),
    );
    return [{ labels, count: Number(match[2]) }];
  });
}

/** The count of the samples whose labels include all of `labels`. */
function countOf(
  found: { labels: Record<string, string>; count: number }[],
  labels: Record<string, string>,
): number {
  return found
    .filter((sample) => Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
    .reduce((sum, sample) => sum + sample.count, 0);
}

describe('db client metrics (real FerretDB and Redis)', () => {
  let mongoServer: MongoServer;
  let redisServer: RedisServer;
  let mongo: MongoClient;
  let redis: Redis;
  const metrics = createMetrics({ service: 'db-test', runtimeMetrics: false });

  before(async () => {
    [mongoServer, redisServer] = await Promise.all([startMongo(), startRedis()]);
    mongo = createMongoClient({
      url: mongoServer.url,
      appName: 'db-test',
      extra: { monitorCommands: true },
    });
    observeMongoCommands(mongo, metrics);
    redis = createRedisClient({ url: redisServer.url });
    observeRedisCommands(redis, metrics);
  });

  after(async () => {
    await mongo.close();
    redis.disconnect();
    await Promise.all([mongoServer.stop(), redisServer.stop()]);
  });

  it('times each MongoDB command by name, failures with their error type', async () => {
    const collection = mongo.db('dbmetrics').collection<{ _id: string }>('things');
    await collection.insertOne({ _id: 'a' });
    await collection.findOne({ _id: 'a' });
    await assert.rejects(collection.insertOne({ _id: 'a' }));
    const found = await counts(metrics);
    const mongodb = { db_system_name: 'mongodb', service: 'db-test' };
    assert.equal(countOf(found, { ...mongodb, db_operation_name: 'find' }), 1);
    // The duplicate key comes back as a write error of a successful command, so both inserts
    // are timed; what matters is that each command is counted once.
    assert.equal(countOf(found, { ...mongodb, db_operation_name: 'insert' }), 2);
  });

  it('times each Redis command by name, and a failed one with its error type', async () => {
    await redis.set('k', '1');
    await redis.get('k');
    await redis.get('k');
    await assert.rejects(redis.incr('k-not-a-number').then(() => redis.hincrby('k', 'f', 1)));
    const found = await counts(metrics);
    const redisLabels = { db_system_name: 'redis' };
    assert.equal(countOf(found, { ...redisLabels, db_operation_name: 'get' }), 2);
    assert.equal(countOf(found, { ...redisLabels, db_operation_name: 'set' }), 1);
    const failed = { ...redisLabels, db_operation_name: 'hincrby', error_type: 'ReplyError' };
    assert.equal(countOf(found, failed), 1, JSON.stringify(found));
  });
});
