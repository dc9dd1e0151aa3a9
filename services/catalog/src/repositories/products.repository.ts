import {
  createKeyedMutex,
  ensureOutboxIndexes,
  insertWithOutbox,
  outboxFields,
  updateWithOutbox,
  withMongoUnavailable,
  type KeyedMutex,
  type OutboxDocument,
} from '@emporium/platform';
import {
  MongoBulkWriteError,
  MongoServerError,
  type Collection,
  type Db,
  type Filter,
} from 'mongodb';
import type { Product, Revision } from '../domain/product.js';
import { escapeRegExp, type ProductQuery } from '../domain/product-query.js';
import { productUpdatedEvent } from '../events/product-updated.event.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/** How often an update re-reads and retries after another write changed the product first. */
const MAX_UPDATE_ATTEMPTS = 3;

/**
 * A product as stored: `_id` is the product id, so reads and writes of one product go through
 * the `_id` index (FerretDB 1.24 on SQLite pushes nothing else down and would decode the whole
 * collection); `id` stays in the document because the API, the cache and the events carry it.
 * Also a version for optimistic concurrency, and the embedded outbox.
 */
export type ProductDocument = Product & { _id: string; version: number } & Partial<OutboxDocument>;

/** Everything but the product's own fields stays inside the database. */
const PRODUCT_PROJECTION = {
  _id: 0,
  version: 0,
  outbox: 0,
  outboxPending: 0,
  outboxPendingSince: 0,
} as const;

/** One page of a search. */
export interface ProductPage {
  items: Product[];
  total: number;
}

/** The outcome of {@link ProductsRepository.update}. */
export type UpdateOutcome = Revision | { kind: 'not-found' } | { kind: 'conflict' };

/** Products in MongoDB, unique by id (the `_id`) and by SKU; each write carries its event. */
export interface ProductsRepository {
  readonly collection: Collection<ProductDocument>;
  ensureIndexes(): Promise<void>;
  /** Stores a new product with its ProductUpdated event in one write; false if its SKU is taken. */
  create(product: Product): Promise<boolean>;
  /**
   * Reads the product, lets `revise` decide its new state, and stores a revised one with its
   * ProductUpdated event in one write, if nobody changed it in between (else re-reads).
   */
  update(id: string, revise: (current: Product) => Revision): Promise<UpdateOutcome>;
  /**
   * Serialises writes to one product (keyed by product id) within this process; the outbox
   * relay takes it too (keyed by `_id` or by `mutexKeyField: 'id'`, the same string), because
   * FerretDB 1.24 loses one of two concurrent updates to a document.
   */
  readonly mutex: KeyedMutex;
  findById(id: string): Promise<Product | null>;
  search(query: ProductQuery): Promise<ProductPage>;
  /** The number of products (an estimate from collection metadata, for the gauge). */
  count(): Promise<number>;
  /**
   * Inserts the products, each with its ProductUpdated event, if the collection is empty;
   * returns how many were inserted. Replicas starting together are safe: the unique SKU index
   * lets only one copy of each product in.
   */
  seedIfEmpty(products: readonly Product[]): Promise<number>;
}

/** The MongoDB filter of a search. */
function searchFilter(query: ProductQuery): Filter<ProductDocument> {
  const filter: Filter<ProductDocument> = {};
  if (query.category !== undefined) filter.categories = query.category;
  if (query.skus !== undefined) filter.sku = { $in: [...query.skus] };
  if (query.text !== undefined) {
    // A case-insensitive regex of the escaped text rather than a $text index: FerretDB 1.24
    // (SQLite backend) has no text indexes, and the same query works on MongoDB and DocumentDB.
    // Escaping makes the input a literal, so `(350 ml)` matches and cannot be a costly pattern.
    const pattern = { $regex: escapeRegExp(query.text), $options: 'i' };
    filter.$or = [{ name: pattern }, { description: pattern }];
  }
  return filter;
}

/** The stored form of a new product. */
function newDocument(product: Product): ProductDocument {
  return { _id: product.id, ...product, version: 0 };
}

/** Creates the repository over `<db>.products`. */
export function productsRepository(
  db: Db,
  mutex: KeyedMutex = createKeyedMutex(),
): ProductsRepository {
  const collection = db.collection<ProductDocument>('products');

  // Documents written before `_id` was the product id (ObjectId `_id`) are not found by id;
  // search still lists them, and an update of one answers not-found.
  const findById = (id: string): Promise<ProductDocument | null> =>
    collection.findOne({ _id: id }, { projection: { _id: 0, outbox: 0 } });

  return {
    collection,
    mutex,
    ensureIndexes: async () => {
      // No index on id: `_id` is the product id (databases created before keep a harmless
      // stale `id_unique`). The SKU index stays: SKUs must be unique and search sorts by them.
      await collection.createIndex({ sku: 1 }, { unique: true, name: 'sku_unique' });
      await collection.createIndex({ categories: 1 }, { name: 'categories' });
      await ensureOutboxIndexes(collection);
    },
    create: (product) =>
      withMongoUnavailable(async () => {
        try {
          await insertWithOutbox(collection, newDocument(product), [productUpdatedEvent(product)]);
          return true;
        } catch (err) {
          // The id (`_id`) is a fresh UUID, so a duplicate key can only be the SKU.
          if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
          throw err;
        }
      }),
    update: (id, revise) =>
      mutex.run(id, () =>
        withMongoUnavailable(async (): Promise<UpdateOutcome> => {
          for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt += 1) {
            const stored = await findById(id);
            if (!stored) return { kind: 'not-found' };
            // `_id` is projected out; it is named only so that `current` is a plain Product.
            const {
              _id: _key,
              version,
              outboxPending: _p,
              outboxPendingSince: _s,
              ...current
            } = stored;
            const revision = revise(current);
            if (revision.kind !== 'revised') return revision;
            const { id: _id, sku: _sku, ...fields } = revision.product;
            // The version check makes the read and the write one step: a PUT computed from a
            // state another request already replaced is re-done, not applied over it.
            const result = await updateWithOutbox(
              collection,
              { _id: id },
              { $set: fields },
              [productUpdatedEvent(revision.product)],
              { expectedVersion: version },
            );
            if (result.matchedCount === 1) return revision;
          }
          return { kind: 'conflict' };
        }),
      ),
    findById: (id) =>
      withMongoUnavailable(() =>
        collection.findOne({ _id: id }, { projection: PRODUCT_PROJECTION }),
      ),
    search: (query) =>
      withMongoUnavailable(async () => {
        const filter = searchFilter(query);
        // Sorted by SKU (unique) so pages never overlap or skip a product.
        const [items, total] = await Promise.all([
          collection
            .find(filter, { projection: PRODUCT_PROJECTION })
            .sort({ sku: 1 })
            .skip(query.offset)
            .limit(query.limit)
            .toArray(),
          collection.countDocuments(filter),
        ]);
        return { items, total };
      }),
    count: () => withMongoUnavailable(() => collection.estimatedDocumentCount()),
    seedIfEmpty: (products) =>
      withMongoUnavailable(async () => {
        if ((await collection.countDocuments({}, { limit: 1 })) > 0) return 0;
        const docs = products.map((product) => ({
          ...newDocument(product),
          ...outboxFields([productUpdatedEvent(product)]),
        }));
        if (docs.length === 0) return 0;
        try {
          const result = await collection.insertMany(docs, { ordered: false });
          return result.insertedCount;
        } catch (err) {
          // Another replica seeded the same SKUs first: keep what this one could insert.
          const duplicatesOnly =
            err instanceof MongoBulkWriteError &&
            [err.writeErrors].flat().every((e) => e.code === DUPLICATE_KEY);
          if (duplicatesOnly) return err.insertedCount;
          throw err;
        }
      }),
  };
}
