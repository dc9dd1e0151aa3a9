import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { COMPONENT_CHECKS } from './checks.js';
import { startKafka } from './components/kafka.js';
import { startRedis } from './components/redis.js';
import { tempDir } from './process.js';

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

describe('components', () => {
  describe('round trips through each real component', () => {
    for (const check of COMPONENT_CHECKS) {
      it(check.name, async () => {
        await check.run();
      });
    }
  });

  it('stop() ends the process and frees its port', async () => {
    const redis = await startRedis();
    assert.ok(redis.process.running());
    assert.ok(await accepts(redis.port));
    await redis.stop();
    assert.equal(redis.process.running(), false);
    assert.equal(await accepts(redis.port), false);
    await redis.stop(); // idempotent
  });

  it('a Kafka broker restarted on its data folder and port keeps its topics', async () => {
    const dataDir = await tempDir('kafka-data');
    const first = await startKafka({ dataDir });
    const port = Number(first.brokers[0]?.split(':')[1]);
    const kafka = (brokers: string[]): Kafka =>
      new Kafka({ brokers, clientId: 'restart-test', logLevel: logLevel.NOTHING });
    const admin = kafka(first.brokers).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kept.v1' }], waitForLeaders: true });
    await admin.disconnect();
    await first.stop();
    assert.equal(await accepts(port), false);

    const second = await startKafka({ dataDir, port });
    try {
      assert.deepEqual(second.brokers, first.brokers);
      const again = kafka(second.brokers).admin();
      await again.connect();
      assert.ok((await again.listTopics()).includes('kept.v1'));
      await again.disconnect();
    } finally {
      await second.stop();
    }
  });
});
