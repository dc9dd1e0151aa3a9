import { withMongoUnavailable } from '@emporium/platform';
import { MongoServerError, type Collection, type Db } from 'mongodb';
import type { Notification } from '../domain/notification.js';

/** MongoDB's duplicate key error. */
const DUPLICATE_KEY = 11000;

/** The most a list returns: a customer's latest notifications, still oldest first. */
export const MAX_LISTED = 500;

/**
 * A notification as stored: `_id` is {@link notificationKey} of its user and event, so the
 * insert of a redelivered event is refused by `_id` itself, through the one index FerretDB 1.24
 * on SQLite can use. The natural fields stay in the document because the API returns them.
 */
export type NotificationDocument = Notification & { _id: string };

/**
 * The `_id` of the notification of one event to one user: `<userId>:<eventId>`. Unambiguous
 * because a userId is a contracts `Id` (letters, digits, `_`, `-`), so the first `:` ends it.
 */
export function notificationKey(userId: string, eventId: string): string {
  return `${userId}:${eventId}`;
}

/** Notifications in MongoDB, one per (user, event): the pair is the `_id`. */
export interface NotificationsRepository {
  readonly collection: Collection<NotificationDocument>;
  ensureIndexes(): Promise<void>;
  /** Stores the notification; false if this event already notified this user. */
  add(notification: Notification): Promise<boolean>;
  /** The user's latest {@link MAX_LISTED} notifications, oldest first. */
  listByUser(userId: string): Promise<Notification[]>;
}

/** Creates the repository over `<db>.notifications`. */
export function notificationsRepository(db: Db): NotificationsRepository {
  const collection = db.collection<NotificationDocument>('notifications');
  return {
    collection,
    ensureIndexes: async () => {
      // No (eventId, userId) unique index: `_id` is that pair. Databases created before keep a
      // stale `event_user_unique` index; it is harmless, and dropping it here would let
      // replicas of the previous version, mid-rollout, record an event twice.
      await collection.createIndex({ userId: 1, createdAt: 1 }, { name: 'user_created' });
    },
    add: (notification) =>
      withMongoUnavailable(async () => {
        try {
          const _id = notificationKey(notification.userId, notification.eventId);
          await collection.insertOne({ _id, ...notification });
          return true;
        } catch (err) {
          // A duplicate `_id`: a redelivery of an event already recorded for this user.
          if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) return false;
          throw err;
        }
      }),
    listByUser: (userId) =>
      withMongoUnavailable(async () => {
        // The one read not keyed by `_id`, and it is off the event path (a customer opening
        // their inbox; loadgen never asks). MongoDB and DocumentDB answer it from `user_created`
        // in O(log n + MAX_LISTED). FerretDB 1.24 on SQLite decodes the whole collection in
        // Go, so it costs O(all notifications of all users), growing with history. Making it
        // `_id`-keyed would need a per-user document holding the list, and FerretDB ignores
        // `$push`'s `$slice`, so that document would grow without bound for loadgen's fixed
        // shoppers and move the same cost onto every event instead.
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
