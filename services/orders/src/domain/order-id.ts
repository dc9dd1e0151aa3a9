import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/** The UUID namespace of order ids derived from idempotency keys (fixed: ids must not drift). */
const ORDER_KEY_NAMESPACE = '3c1f6a47-2f0e-4c39-9d4e-6f3a8e5b21d7';

/**
 * An Idempotency-Key as the IETF httpapi draft describes it: 1–255 visible ASCII characters
 * (a UUID in practice).
 */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The id of the order a user places under `idempotencyKey`: the same user and key always give
 * the same id (a UUIDv5), so a repeated request finds the order it already made, and inventory,
 * which reserves by order id, reserves once. Without a key, a fresh random id.
 */
export function orderIdFor(userId: string, idempotencyKey?: string): string {
  // The newline cannot occur in a key or a user id: no two (user, key) pairs share a name.
  return idempotencyKey === undefined
    ? randomUUID()
    : uuidv5(`${userId}\n${idempotencyKey}`, ORDER_KEY_NAMESPACE);
}
