import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { checkEvent, type CloudEvent } from '@emporium/platform';
import { Ajv, type AnySchema } from 'ajv';
import addFormats from 'ajv-formats';
import {
  ASYNCAPI_FILE,
  buildAsyncApiDocument,
  CONTRACTS_VERSION,
  OrderCancelled,
  OrderPlaced,
  ordersTopic,
  PaymentAuthorized,
  SUBSCRIPTIONS,
  TOPICS,
} from './index.js';

const placed = {
  orderId: 'o-1',
  userId: 'u-1',
  lines: [{ sku: 'MUG-CER-350', name: 'Mug', quantity: 2, unitPriceMinor: 1250 }],
  totalMinor: 2500,
  currency: 'EUR',
  placedAt: '2026-11-27T10:00:00.000Z',
};

function cloudEvent<T>(type: string, data: T): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: 'e-1',
    source: '/emporium/orders',
    type,
    time: '2026-11-27T10:00:00.000Z',
    datacontenttype: 'application/json',
    data,
  };
}

describe('contracts', () => {
  it('names topics by version and event types by domain', () => {
    assert.deepEqual(
      TOPICS.map((t) => t.name),
      ['catalog.v1', 'orders.v1', 'payments.v1', 'shipments.v1'],
    );
    assert.equal(OrderPlaced.type, 'com.emporium.orders.OrderPlaced');
    assert.equal(ordersTopic.version, 1);
  });

  it("a topic's schema accepts each of its event types and rejects others' data", () => {
    assert.equal(ordersTopic.schema.safeParse(placed).success, true);
    assert.equal(ordersTopic.schema.safeParse({ ...placed, lines: [] }).success, false);
    assert.equal(ordersTopic.schema.safeParse({ ...placed, totalMinor: 12.5 }).success, false);
    assert.equal(ordersTopic.schema.safeParse({ orderId: 'o-1' }).success, false);
  });

  it("checks an event against its own type: an unknown type or another type's data is refused", () => {
    assert.deepEqual(checkEvent(ordersTopic, OrderPlaced.type, placed), { ok: true, data: placed });
    const unknown = checkEvent(ordersTopic, 'com.emporium.orders.OrderTeleported', placed);
    assert.equal(unknown.ok, false);
    assert.match(JSON.stringify(unknown), /is not an event type of orders\.v1/);
    // OrderPlaced's data under OrderCancelled's type passes the topic's union, not its type.
    assert.equal(ordersTopic.schema.safeParse(placed).success, true);
    assert.equal(checkEvent(ordersTopic, OrderCancelled.type, placed).ok, false);
  });

  it('narrows events by type and re-validates the data', () => {
    const event = cloudEvent(OrderPlaced.type, placed as unknown);
    assert.equal(OrderPlaced.is(event), true);
    assert.equal(OrderCancelled.is(event), false);
    assert.equal(OrderPlaced.is(cloudEvent(OrderPlaced.type, { orderId: 'x' })), false);
  });

  it('every subscribed type exists, and every consumer reads only other services’ topics', () => {
    const types = new Map(
      TOPICS.flatMap((t) => t.events.map((e) => [e.type, t.producer] as const)),
    );
    for (const [group, subscribed] of Object.entries(SUBSCRIPTIONS)) {
      for (const type of subscribed) {
        assert.ok(types.has(type), `${group} subscribes to unknown ${type}`);
        assert.notEqual(types.get(type), group, `${group} consumes its own ${type}`);
      }
    }
    assert.ok(SUBSCRIPTIONS.shipping?.includes(PaymentAuthorized.type));
  });

  describe('AsyncAPI', () => {
    const document = buildAsyncApiDocument(CONTRACTS_VERSION);

    it('is a valid AsyncAPI 3.0.0 document', () => {
      const require = createRequire(import.meta.url);
      // The official JSON Schema of AsyncAPI 3.0.0, from @asyncapi/specs.
      const specs = require('@asyncapi/specs') as { schemas: Record<string, AnySchema> };
      const schema = specs.schemas['3.0.0'];
      assert.ok(schema);
      // The spec bundles the draft-07 meta-schema itself, so ajv must not add its own copy.
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, meta: false });
      addFormats.default(ajv);
      const validate = ajv.compile(schema);
      const valid = validate(document);
      assert.ok(valid, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
    });

    it('has a channel per topic, a message per event type and the operations of the saga', () => {
      const channels = document.channels as Record<string, { address: string }>;
      assert.deepEqual(
        Object.values(channels).map((c) => c.address),
        TOPICS.map((t) => t.name),
      );
      const operations = Object.keys(document.operations as object);
      assert.ok(operations.includes('orders-send-orders-v1'));
      assert.ok(operations.includes('payments-receive-orders-v1'));
      assert.ok(operations.includes('inventory-receive-shipments-v1'));
      const messages = (
        document.components as { messages: Record<string, { payload: { required: string[] } }> }
      ).messages;
      const required = [...(messages.OrderPlaced?.payload.required ?? [])];
      assert.deepEqual(required.sort(), Object.keys(placed).sort());
    });

    it('the committed asyncapi.json is up to date (npm run asyncapi -w services/contracts)', () => {
      const committed = JSON.parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as unknown;
      assert.deepEqual(committed, JSON.parse(JSON.stringify(document)));
    });
  });
});
