import { createKeyedMutex, withMongoUnavailable, type KeyedMutex } from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import { openingStock, type StockLevel, type TakeResult } from '../domain/stock.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/**
 * A stock record as stored. `holds` lists the orders holding units of the sku right now: every
 * take, release and commit checks and changes it in the same single-document write as the
 * counters, so each happens at most once per order and sku whatever is retried or redelivered.
 * It only holds open reservations (a release or commit pulls the order out again).
 */
export type StockDocument = StockLevel & { holds: string[] };

/** Totals over every sku, for the units gauge. */
export interface StockTotals {
  available: number;
  reserved: number;
  committed: number;
}

/** Stock per sku in MongoDB; every write to one sku is serialised in-process (see KeyedMutex). */
export interface StockRepository {
  readonly collection: Collection<StockDocument>;
  ensureIndexes(): Promise<void>;
  find(sku: string): Promise<StockLevel | null>;
  /** Opens the record of an unseen sku with `available` units; false when it already exists. */
  open(sku: string, available: number, now: Date): Promise<boolean>;
  /** Sets the free units of a sku (creating its record), leaving reserved and committed alone. */
  setAvailable(sku: string, available: number, now: Date): Promise<StockLevel>;
  /** Moves `quantity` units from available to reserved for the order, unless it holds them. */
  take(sku: string, orderId: string, quantity: number, now: Date): Promise<TakeResult>;
  /** Gives the order's held units back to available; false when it held none. */
  giveBack(sku: string, orderId: string, quantity: number, now: Date): Promise<boolean>;
  /** Moves the order's held units to committed (they left with a shipment); false if none. */
  commit(sku: string, orderId: string, quantity: number, now: Date): Promise<boolean>;
  totals(): Promise<StockTotals>;
}

const PUBLIC_PROJECTION = { _id: 0, holds: 0 } as const;

/** Creates the repository over `<db>.stock`. */
export function stockRepository(db: Db, mutex: KeyedMutex = createKeyedMutex()): StockRepository {
  const collection = db.collection<StockDocument>('stock');
  const serial = <T>(sku: string, task: () => Promise<T>): Promise<T> =>
    withMongoUnavailable(() => mutex.run(`stock:${sku}`, task));

  // An upsert racing another for the same new sku may hit the unique index; that one won.
  const upsert = async (
    sku: string,
    update: Parameters<Collection<StockDocument>['updateOne']>[1],
  ): Promise<boolean> => {
    try {
      const result = await collection.updateOne({ sku }, update, { upsert: true });
      return result.upsertedCount === 1;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
      throw err;
    }
  };

  return {
    collection,
    ensureIndexes: async () => {
      await collection.createIndex({ sku: 1 }, { unique: true, name: 'sku_unique' });
    },
    find: (sku) =>
      withMongoUnavailable(() => collection.findOne({ sku }, { projection: PUBLIC_PROJECTION })),
    open: (sku, available, now) =>
      serial(sku, () => {
        const { sku: _sku, ...fresh } = openingStock(sku, available, now);
        // $setOnInsert only: hearing of a known product again must never reset its stock.
        return upsert(sku, { $setOnInsert: { ...fresh, holds: [] } });
      }),
    setAvailable: (sku, available, now) =>
      serial(sku, async () => {
        const updatedAt = now.toISOString();
        const created = await upsert(sku, {
          $set: { available, updatedAt },
          $setOnInsert: { reserved: 0, committed: 0, holds: [] },
        });
        if (!created) await collection.updateOne({ sku }, { $set: { available, updatedAt } });
        const stored = await collection.findOne({ sku }, { projection: PUBLIC_PROJECTION });
        if (!stored) throw new Error(`stock of ${sku} vanished after it was set`);
        return stored;
      }),
    take: (sku, orderId, quantity, now) =>
      serial(sku, async () => {
        // The filter is the whole check: enough units, and this order does not hold them yet.
        const result = await collection.updateOne(
          { sku, available: { $gte: quantity }, holds: { $ne: orderId } },
          {
            $inc: { available: -quantity, reserved: quantity },
            $push: { holds: orderId },
            $set: { updatedAt: now.toISOString() },
          },
        );
        if (result.modifiedCount === 1) return 'taken';
        // An earlier attempt of the same order (that died midway) may already hold them.
        const held = await collection.countDocuments({ sku, holds: orderId }, { limit: 1 });
        return held > 0 ? 'held' : 'short';
      }),
    giveBack: (sku, orderId, quantity, now) =>
      serial(sku, async () => {
        const result = await collection.updateOne(
          { sku, holds: orderId },
          {
            $inc: { available: quantity, reserved: -quantity },
            $pull: { holds: orderId },
            $set: { updatedAt: now.toISOString() },
          },
        );
        return result.modifiedCount === 1;
      }),
    commit: (sku, orderId, quantity, now) =>
      serial(sku, async () => {
        const result = await collection.updateOne(
          { sku, holds: orderId },
          {
            $inc: { reserved: -quantity, committed: quantity },
            $pull: { holds: orderId },
            $set: { updatedAt: now.toISOString() },
          },
        );
        return result.modifiedCount === 1;
      }),
    totals: () =>
      withMongoUnavailable(async () => {
        // $group works on FerretDB 1.24, and the stock collection is one small document per sku.
        const [row] = await collection
          .aggregate<StockTotals>([
            {
              $group: {
                _id: null,
                available: { $sum: '$available' },
                reserved: { $sum: '$reserved' },
                committed: { $sum: '$committed' },
              },
            },
          ])
          .toArray();
        return {
          available: row?.available ?? 0,
          reserved: row?.reserved ?? 0,
          committed: row?.committed ?? 0,
        };
      }),
  };
}
