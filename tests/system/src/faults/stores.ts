import { Kafka, logLevel, type Admin } from 'kafkajs';
import { MongoClient } from 'mongodb';

/** An order as orders stores it (`_id` = order id); only what the checks read. */
export interface StoredOrder {
  readonly _id: string;
  readonly status: 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';
  readonly lines: readonly { sku: string; quantity: number }[];
  readonly createdAt: string;
  readonly cancelReason?: string;
  readonly outboxPending?: number;
}

/** A payment as payments stores it (`_id` = order id). */
export interface StoredPayment {
  readonly _id: string;
  readonly orderId: string;
  readonly status: 'PENDING' | 'AUTHORIZED' | 'DECLINED';
  readonly createdAt: string;
  readonly outboxPending?: number;
}

/** A reservation as inventory stores it (`_id` = order id). */
export interface StoredReservation {
  readonly _id: string;
  readonly status: 'RESERVING' | 'RESERVED' | 'CONFIRMED' | 'RELEASED' | 'COMMITTED' | 'EXPIRED';
  readonly lines: readonly { sku: string; quantity: number }[];
  readonly expiresAt?: string;
}

/** A sku's stock as inventory stores it (`_id` = sku). */
export interface StoredStock {
  readonly _id: string;
  readonly available: number;
  readonly reserved: number;
  readonly committed: number;
}

/** Everything the checks read from FerretDB, in one pass. */
export interface Stores {
  readonly orders: readonly StoredOrder[];
  readonly payments: readonly StoredPayment[];
  readonly reservations: readonly StoredReservation[];
  readonly stock: ReadonlyMap<string, StoredStock>;
  /** Documents of orders, payments and shipping with outbox events still to publish. */
  readonly outboxPending: number;
}

/** Reads the stores the saga writes, straight from FerretDB (no service in between). */
export async function readStores(mongoUrl: string): Promise<Stores> {
  const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 10_000 });
  try {
    const all = <T>(db: string, collection: string): Promise<T[]> =>
      client.db(db).collection(collection).find({}).toArray() as Promise<T[]>;
    const [orders, payments, reservations, stock, shipments] = await Promise.all([
      all<StoredOrder>('orders', 'orders'),
      all<StoredPayment>('payments', 'payments'),
      all<StoredReservation>('inventory', 'reservations'),
      all<StoredStock>('inventory', 'stock'),
      all<{ outboxPending?: number }>('shipping', 'shipments'),
    ]);
    const pending = (docs: readonly { outboxPending?: number }[]): number =>
      docs.filter((doc) => (doc.outboxPending ?? 0) > 0).length;
    return {
      orders,
      payments,
      reservations,
      stock: new Map(stock.map((s) => [s._id, s])),
      outboxPending: pending(orders) + pending(payments) + pending(shipments),
    };
  } finally {
    await client.close();
  }
}

/** The consumer groups of the saga; each has its dead-letter topic `<group>.dlq`. */
export const CONSUMER_GROUPS = ['inventory', 'notifications', 'orders', 'payments', 'shipping'];

/** Reads topics and consumer offsets straight from the broker. */
export interface Topics {
  /** Records in each group's DLQ (every record ever dead-lettered: nothing deletes them). */
  dlqRecords(): Promise<Record<string, number>>;
  /** Records the saga's consumer groups have not committed yet, over all their topics. */
  lag(): Promise<number>;
  /**
   * For a failure's report: the CloudEvents types each of the saga's topics holds for each of
   * `keys` (order ids), read from the start, e.g. `orders.v1 …OrderPlaced`.
   */
  eventsFor(keys: readonly string[]): Promise<Map<string, string[]>>;
  close(): Promise<void>;
}

/** The topics of the saga, read for a report. */
const SAGA_TOPICS = ['orders.v1', 'payments.v1', 'shipments.v1'];

/** Connects an admin client to the broker (it reconnects by itself after a restart). */
export async function connectTopics(brokers: readonly string[]): Promise<Topics> {
  const kafka = new Kafka({
    brokers: [...brokers],
    clientId: 'faults-checks',
    logLevel: logLevel.NOTHING,
    retry: { retries: 5 },
  });
  const admin: Admin = kafka.admin();
  await admin.connect();
  const existing = async (): Promise<Set<string>> => new Set(await admin.listTopics());
  return {
    dlqRecords: async () => {
      const topics = await existing();
      const counts: Record<string, number> = {};
      for (const group of CONSUMER_GROUPS) {
        const topic = `${group}.dlq`;
        if (!topics.has(topic)) {
          counts[topic] = 0;
          continue;
        }
        const offsets = await admin.fetchTopicOffsets(topic);
        counts[topic] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      }
      return counts;
    },
    lag: async () => {
      let lag = 0;
      for (const groupId of CONSUMER_GROUPS) {
        for (const { topic, partitions } of await admin.fetchOffsets({ groupId })) {
          const ends = new Map(
            (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]),
          );
          for (const { partition, offset } of partitions) {
            const committed = Number(offset);
            const end = ends.get(partition) ?? 0;
            // -1: nothing committed on that partition yet; only records there count as lag.
            lag += Math.max(0, end - Math.max(0, committed));
          }
        }
      }
      return lag;
    },
    eventsFor: async (keys) => {
      const found = new Map<string, string[]>(keys.map((key) => [key, []]));
      if (keys.length === 0) return found;
      const ends = new Map<string, number>();
      for (const topic of SAGA_TOPICS) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          ends.set(`${topic}/${String(p.partition)}`, Number(p.high));
        }
      }
      const consumer = kafka.consumer({ groupId: `faults-report-${String(Date.now())}` });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: SAGA_TOPICS, fromBeginning: true });
        const done = new Set<string>();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 20_000);
          void consumer.run({
            eachMessage: ({ topic, partition, message }) => {
              const key = message.key?.toString() ?? '';
              const type = message.headers?.ce_type?.toString() ?? '?';
              found.get(key)?.push(`${topic} ${type.replace(/^com\.emporium\./, '')}`);
              const at = `${topic}/${String(partition)}`;
              if (Number(message.offset) + 1 >= (ends.get(at) ?? 0)) done.add(at);
              if ([...ends].every(([where, end]) => end === 0 || done.has(where))) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          });
        });
      } finally {
        await consumer.disconnect();
      }
      return found;
    },
    close: () => admin.disconnect(),
  };
}

/** What the stores say about one set of orders (a row of the table). */
export interface PaymentFindings {
  /** Orders charged more than once, or charged though cancelled or never stored. */
  readonly doubleCharges: string[];
  /** Paid or shipped orders without an AUTHORIZED payment. */
  readonly unpaid: string[];
  /** Payments the provider's answer was never recorded for. */
  readonly unsettled: string[];
}

/**
 * Exactly one captured (AUTHORIZED) payment per paid order, none for a cancelled one: a PAID
 * or SHIPPED order needs its AUTHORIZED payment, a CANCELLED one must not have one, and no
 * order may have two payment documents (by `_id` or by an `orderId` field).
 */
export function checkPayments(stores: Stores): PaymentFindings {
  const byOrder = new Map<string, StoredPayment[]>();
  for (const payment of stores.payments) {
    const list = byOrder.get(payment.orderId) ?? [];
    list.push(payment);
    byOrder.set(payment.orderId, list);
  }
  const orders = new Map(stores.orders.map((order) => [order._id, order]));
  const doubleCharges: string[] = [];
  const unpaid: string[] = [];
  for (const [orderId, payments] of byOrder) {
    const captured = payments.filter((p) => p.status === 'AUTHORIZED').length;
    const order = orders.get(orderId);
    if (
      payments.length > 1 ||
      (captured > 0 && order?.status !== 'PAID' && order?.status !== 'SHIPPED')
    ) {
      doubleCharges.push(orderId);
    }
  }
  for (const order of stores.orders) {
    if (order.status !== 'PAID' && order.status !== 'SHIPPED') continue;
    const captured = (byOrder.get(order._id) ?? []).filter((p) => p.status === 'AUTHORIZED');
    if (captured.length !== 1) unpaid.push(order._id);
  }
  const unsettled = stores.payments.filter((p) => p.status === 'PENDING').map((p) => p.orderId);
  return { doubleCharges, unpaid, unsettled };
}

/** How the stock ledger compares with the orders and reservations. */
export interface StockFindings {
  /** Sum over skus of |expected − stored| for available, reserved and committed. */
  readonly drift: number;
  /** One line per sku that does not add up. */
  readonly details: string[];
  /** Reservations still holding units past their expiry (the sweeper should have run). */
  readonly overdue: string[];
}

/** Reservations that still hold units. */
const HOLDING = new Set(['RESERVING', 'RESERVED', 'CONFIRMED']);

/**
 * For every sku stocked before the suite: initial available − units of SHIPPED orders − units
 * held by open reservations = available now; reserved = the units held; committed grew by
 * exactly the shipped units. `graceMs` is how late past its expiry a RESERVED reservation may
 * still be (the sweeper's interval).
 */
export function checkStock(
  initial: ReadonlyMap<string, StoredStock>,
  stores: Stores,
  graceMs: number,
  now: Date = new Date(),
): StockFindings {
  const shipped = new Map<string, number>();
  for (const order of stores.orders) {
    if (order.status !== 'SHIPPED') continue;
    for (const { sku, quantity } of order.lines)
      shipped.set(sku, (shipped.get(sku) ?? 0) + quantity);
  }
  const held = new Map<string, number>();
  const overdue: string[] = [];
  const cutoff = new Date(now.getTime() - graceMs).toISOString();
  for (const reservation of stores.reservations) {
    if (!HOLDING.has(reservation.status)) continue;
    for (const { sku, quantity } of reservation.lines)
      held.set(sku, (held.get(sku) ?? 0) + quantity);
    if (
      reservation.status === 'RESERVED' &&
      reservation.expiresAt !== undefined &&
      reservation.expiresAt < cutoff
    ) {
      overdue.push(`${reservation._id} (expired ${reservation.expiresAt})`);
    }
  }
  let drift = 0;
  const details: string[] = [];
  for (const [sku, before] of initial) {
    const after = stores.stock.get(sku);
    const out = shipped.get(sku) ?? 0;
    const holding = held.get(sku) ?? 0;
    const expected = {
      available: before.available - out - holding,
      reserved: before.reserved + holding,
      committed: before.committed + out,
    };
    const actual = after ?? { available: 0, reserved: 0, committed: 0 };
    const off =
      Math.abs(actual.available - expected.available) +
      Math.abs(actual.reserved - expected.reserved) +
      Math.abs(actual.committed - expected.committed);
    if (off > 0) {
      details.push(
        `${sku}: expected available/reserved/committed ${String(expected.available)}/${String(expected.reserved)}/${String(expected.committed)}, stored ${String(actual.available)}/${String(actual.reserved)}/${String(actual.committed)}`,
      );
    }
    drift += off;
  }
  for (const sku of new Set([...shipped.keys(), ...held.keys()])) {
    if (!initial.has(sku)) details.push(`${sku}: ordered, but had no stock before the suite`);
  }
  return { drift, details, overdue };
}
