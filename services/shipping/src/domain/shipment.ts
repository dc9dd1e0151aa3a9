import { randomBytes, randomUUID } from 'node:crypto';

/** A shipment of one paid order. */
export interface Shipment {
  shipmentId: string;
  orderId: string;
  userId: string;
  carrier: string;
  trackingId: string;
  status: 'DISPATCHED';
  dispatchedAt: string;
}

/** What a shipment is made from: the authorised payment's order and customer. */
export interface ShipmentRequest {
  orderId: string;
  userId: string;
}

/**
 * A tracking id like `EMP7Q2K9XW4M1PZ`: the carrier's three-letter prefix and 12 characters of
 * Crockford base32 (no I, L, O, U, so it survives being read out on the phone).
 */
export function trackingId(
  carrier: string,
  random: (size: number) => Buffer = randomBytes,
): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const prefix = carrier
    .replace(/[^A-Z]/gi, '')
    .slice(0, 3)
    .toUpperCase()
    .padEnd(3, 'X');
  const body = [...random(12)].map((byte) => alphabet[byte % 32] ?? '0').join('');
  return `${prefix}${body}`;
}

/** Creates the shipment of an order, dispatched now with the given carrier. */
export function dispatch(request: ShipmentRequest, carrier: string, now: Date): Shipment {
  return {
    shipmentId: randomUUID(),
    orderId: request.orderId,
    userId: request.userId,
    carrier,
    trackingId: trackingId(carrier),
    status: 'DISPATCHED',
    dispatchedAt: now.toISOString(),
  };
}
