import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineTopic } from '../kafka/topics.js';
import { startEventsFixture, type EventsFixture } from './events-fixture.js';
import type { EventWatcher } from './event-watcher.js';
import { createTeardown } from './teardown.js';

describe('testing: teardown', () => {
  it('runs the last registered stop first, once, past a failing one, then rethrows it', async () => {
    const teardown = createTeardown();
    const ran: string[] = [];
    teardown.defer(() => Promise.resolve(void ran.push('servers')));
    teardown.defer(() => Promise.reject(new Error('producer stuck')));
    teardown.defer(() => Promise.resolve(void ran.push('watcher')));
    await assert.rejects(teardown.run(), /producer stuck/);
    assert.deepEqual(ran, ['watcher', 'servers']);
    await teardown.run();
    assert.deepEqual(ran, ['watcher', 'servers'], 'a second run repeats nothing');
  });
});

describe('testing: events fixture (real Kafka and FerretDB)', () => {
  const topic = defineTopic('fixture-test.v1', z.object({ orderId: z.string() }));
  let fx: EventsFixture;
  let watcher: EventWatcher;

  before(async () => {
    fx = await startEventsFixture({ service: 'fixture', produces: [topic] });
    watcher = await fx.watch(topic);
  });

  after(() => fx.stop());

  it('collects CloudEvents from the topic and reports the records that are not', async () => {
    const raw = fx.kafka.producer();
    await raw.connect();
    await raw.send({ topic: topic.name, messages: [{ key: 'o-1', value: 'not a CloudEvent' }] });
    await raw.disconnect();
    // Same key, same partition: once this one arrives, the raw record was read before it.
    await fx.producer.publish(topic, {
      type: 'com.emporium.test.Tested',
      key: 'o-1',
      data: { orderId: 'o-1' },
    });
    const seen = await watcher.waitFor('the CloudEvent', (w) => w.data.orderId === 'o-1');
    assert.equal(seen.topic, topic.name);
    assert.equal(seen.key, 'o-1');
    assert.equal(seen.event.type, 'com.emporium.test.Tested');
    assert.equal(seen.headers.ce_type, 'com.emporium.test.Tested');
    assert.equal(seen.event.source, '/emporium/test');
    assert.equal(watcher.received.length, 1);
    assert.equal(watcher.invalid.length, 1);
    assert.match(watcher.invalid[0] ?? '', /^0: Not a CloudEvent/);
  });

  it('waitFor rejects, naming what did not happen, when nothing matches in time', async () => {
    await assert.rejects(
      watcher.waitFor('an order nobody placed', (w) => w.data.orderId === 'never', 300),
      /an order nobody placed did not happen within 300 ms/,
    );
  });
});
