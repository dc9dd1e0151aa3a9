import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  CloudEventDecodeError,
  decodeCloudEvent,
  encodeCloudEvent,
  type CloudEvent,
  type IncomingRecord,
} from './cloudevents.js';
import { deadLetterTopic, defineTopic } from './topics.js';

const event: CloudEvent<{ orderId: string; total: number }> = {
  specversion: '1.0',
  id: '7d9f6a2e-4c1b-4e8a-9f7e-0a1b2c3d4e5f',
  source: '/emporium/orders',
  type: 'com.emporium.orders.OrderPlaced',
  time: '2026-11-25T10:00:00.000Z',
  subject: 'order-1',
  datacontenttype: 'application/json',
  partitionkey: 'order-1',
  data: { orderId: 'order-1', total: 4200 },
};

/** The record as kafkajs delivers it: Buffers everywhere. */
function asConsumed(record: ReturnType<typeof encodeCloudEvent>): IncomingRecord {
  return {
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value,
    headers: Object.fromEntries(
      Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value)]),
    ),
  };
}

function withoutHeader(record: IncomingRecord, name: string): IncomingRecord {
  const headers = { ...record.headers };
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the header under test
  delete headers[name];
  return { ...record, headers };
}

describe('CloudEvents Kafka binding (binary mode)', () => {
  it('puts attributes in ce_ headers, datacontenttype in content-type, data as the value', () => {
    const record = encodeCloudEvent(event);
    assert.equal(record.key, 'order-1');
    assert.deepEqual(JSON.parse(record.value.toString('utf8')), event.data);
    assert.deepEqual(record.headers, {
      ce_specversion: '1.0',
      ce_id: event.id,
      ce_source: '/emporium/orders',
      ce_type: 'com.emporium.orders.OrderPlaced',
      ce_time: '2026-11-25T10:00:00.000Z',
      ce_subject: 'order-1',
      'content-type': 'application/json',
    });
  });

  it('round-trips an event through Buffer headers and value', () => {
    assert.deepEqual(decodeCloudEvent(asConsumed(encodeCloudEvent(event))), event);
    const { subject: _subject, ...bare } = event;
    assert.deepEqual(decodeCloudEvent(asConsumed(encodeCloudEvent(bare))), bare);
  });

  it('accepts a content-type with parameters and a time with an offset', () => {
    const record = asConsumed(encodeCloudEvent(event));
    const decoded = decodeCloudEvent({
      ...record,
      headers: {
        ...record.headers,
        'content-type': 'application/json; charset=utf-8',
        ce_time: '2026-11-25T11:00:00+01:00',
      },
    });
    assert.equal(decoded.datacontenttype, 'application/json');
    assert.equal(decoded.time, '2026-11-25T11:00:00+01:00');
  });

  for (const header of ['ce_id', 'ce_source', 'ce_type', 'ce_specversion', 'ce_time']) {
    it(`rejects a record without ${header}, naming it`, () => {
      const record = withoutHeader(asConsumed(encodeCloudEvent(event)), header);
      assert.throws(
        () => decodeCloudEvent(record),
        (error: unknown) =>
          error instanceof CloudEventDecodeError && error.message.includes(`${header} is missing`),
      );
    });
  }

  it('rejects a wrong spec version, a bad time and a non-JSON content type', () => {
    const record = asConsumed(encodeCloudEvent(event));
    const cases: [string, string, RegExp][] = [
      ['ce_specversion', '0.3', /ce_specversion must be "1\.0"/],
      ['ce_time', 'yesterday', /ce_time must be an RFC 3339 timestamp/],
      ['content-type', 'text/plain', /content-type must be application\/json/],
    ];
    for (const [header, value, message] of cases) {
      assert.throws(
        () => decodeCloudEvent({ ...record, headers: { ...record.headers, [header]: value } }),
        (error: unknown) => error instanceof CloudEventDecodeError && message.test(error.message),
        header,
      );
    }
  });

  it('rejects data that is not JSON, and a record without a value', () => {
    const record = asConsumed(encodeCloudEvent(event));
    assert.throws(
      () => decodeCloudEvent({ ...record, value: Buffer.from('{"orderId": ') }),
      (error: unknown) =>
        error instanceof CloudEventDecodeError && error.message.includes('data is not valid JSON'),
    );
    assert.throws(() => decodeCloudEvent({ ...record, value: null }), CloudEventDecodeError);
  });

  it('rejects a plain record with no headers at all', () => {
    assert.throws(
      () => decodeCloudEvent({ key: null, value: Buffer.from('{}') }),
      (error: unknown) =>
        error instanceof CloudEventDecodeError &&
        /ce_id is missing.*ce_type is missing/.test(error.message),
    );
  });
});

describe('topic definitions', () => {
  it('pair a versioned name with a schema and infer the data type', () => {
    const topic = defineTopic('orders.v2', z.object({ orderId: z.string() }));
    assert.equal(topic.name, 'orders.v2');
    assert.equal(topic.version, 2);
    const data: { orderId: string } = topic.schema.parse({ orderId: 'o-1' });
    assert.deepEqual(data, { orderId: 'o-1' });
  });

  it('refuse unversioned or oddly spelled names', () => {
    for (const name of ['orders', 'orders.v0', 'Orders.v1', 'orders..v1', 'orders.v1.dlq']) {
      assert.throws(() => defineTopic(name, z.unknown()), TypeError, name);
    }
  });

  it('name a group dead-letter topic <group>.dlq', () => {
    assert.equal(deadLetterTopic('payments'), 'payments.dlq');
  });
});
