import { MongoServerError, type Collection, type Document } from 'mongodb';

/** MongoDB's duplicate key error (also FerretDB's and DocumentDB's). */
const DUPLICATE_KEY = 11000;
/** `dropIndex` on a collection that does not exist yet. */
const NAMESPACE_NOT_FOUND = 26;
/** `dropIndex` of a name the collection has no index by. */
const INDEX_NOT_FOUND = 27;

/** True for a write refused by a unique index (e.g. an `_id` that is already taken). */
export function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

/**
 * Drops an index an earlier version of inventory created, if it is still there.
 *
 * Why: documents used to carry a generated ObjectId `_id` plus unique indexes on the natural
 * keys; now `_id` is the natural key. A leftover unique index would refuse a new document whose
 * key an old (ObjectId) document also holds, and every write would keep maintaining it.
 */
export async function dropIndexIfPresent<T extends Document>(
  collection: Collection<T>,
  name: string,
): Promise<void> {
  try {
    await collection.dropIndex(name);
  } catch (err) {
    const absent =
      err instanceof MongoServerError &&
      (err.code === NAMESPACE_NOT_FOUND || err.code === INDEX_NOT_FOUND);
    if (!absent) throw err;
  }
}
