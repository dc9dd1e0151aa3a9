import { withMongoUnavailable } from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { Notification } from '../domain/notification.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/** The most a list returns: a customer's latest notifications, still oldest first. */
export const MAX_LISTED = 500;

/** Notifications in MongoDB, one per (event, user) thanks to a unique index. */
export interface NotificationsRepository {
  readonly collection: Collection<Notification>;
  ensureIndexes(): Promise<void>;
  /** Stores the notification; false if this event already notified this user. */
  add(notification: Notification): Promise<boolean>;
  /** The user's latest {@link MAX_LISTED} notifications, oldest first. */
  listByUser(userId: string): Promise<Notification[]>;
}

/** Creates the repository over `<db>.notifications`. */
export function notificationsRepository(db: Db): NotificationsRepository {
  const collection = db.collection<Notification>('notifications');
  return {
    collection,
    ensureIndexes: async () => {
      await collection.createIndex(
        { eventId: 1, userId: 1 },
        { unique: true, name: 'event_user_unique' },
      );
      await collection.createIndex({ userId: 1, createdAt: 1 }, { name: 'user_created' });
    },
    add: (notification) =>
      withMongoUnavailable(async () => {
        try {
          await collection.insertOne({ ...notification });
          return true;
        } catch (err) {
          if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
          throw err;
        }
      }),
    listByUser: (userId) =>
      withMongoUnavailable(async () => {
        // Newest first to keep the latest when capped, then reversed for the API's order.
        const latest = await collection
          .find({ userId }, { projection: { _id: 0 } })
          .sort({ createdAt: -1, _id: -1 })
          .limit(MAX_LISTED)
          .toArray();
        return latest.reverse();
      }),
  };
}
