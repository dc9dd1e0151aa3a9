/**
 * Where a reservation is in its life; RESERVING is internal (never shown by the API).
 *
 * RESERVED holds units for an order inventory has not yet seen placed, until `expiresAt`;
 * CONFIRMED holds them for an order that exists (OrderPlaced), with no expiry; EXPIRED gave
 * them back because the order never came (its store failed, or orders crashed).
 */
export type ReservationStatus =
  'RESERVING' | 'RESERVED' | 'CONFIRMED' | 'RELEASED' | 'COMMITTED' | 'EXPIRED';

/** The statuses the HTTP API shows; a RESERVING reservation is not one yet. */
export const VISIBLE_STATUSES = [
  'RESERVED',
  'CONFIRMED',
  'RELEASED',
  'COMMITTED',
  'EXPIRED',
] as const;

/** A status the HTTP API shows. */
export type VisibleStatus = (typeof VISIBLE_STATUSES)[number];

/** One sku of an order and how many units of it are held. */
export interface ReservationLine {
  sku: string;
  quantity: number;
}

/** The units held for one order, all lines or none. */
export interface Reservation {
  orderId: string;
  status: ReservationStatus;
  lines: ReservationLine[];
  createdAt: string;
  updatedAt: string;
  /**
   * ISO time after which unconfirmed units go back. Present while the order is unconfirmed
   * (RESERVING, RESERVED) and on an EXPIRED reservation until its units are back; absent
   * otherwise, so the sweeper's index only holds the reservations it may have to act on.
   */
  expiresAt?: string;
}

/**
 * The legal moves: RESERVING ends in RESERVED (a failed attempt is deleted instead, an
 * abandoned one expires); RESERVED is confirmed by OrderPlaced or expires, whichever comes
 * first; a held order is released (cancelled) or committed (shipped), never both. RESERVED may
 * settle directly because inventory may see a shipment or a cancel before the OrderPlaced. An
 * EXPIRED order that ships after all is held again first (EXPIRED → RESERVED is a new attempt).
 */
const TRANSITIONS: Readonly<Record<ReservationStatus, readonly ReservationStatus[]>> = {
  RESERVING: ['RESERVED', 'EXPIRED'],
  RESERVED: ['CONFIRMED', 'RELEASED', 'COMMITTED', 'EXPIRED'],
  CONFIRMED: ['RELEASED', 'COMMITTED'],
  RELEASED: [],
  COMMITTED: [],
  // A cancel of an expired order records it (its units are back already), so a later shipment
  // event can tell a cancelled order from one whose events only came late.
  EXPIRED: ['RELEASED'],
};

/** A move the state machine forbids. */
export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';

  constructor(
    readonly from: ReservationStatus,
    readonly to: ReservationStatus,
  ) {
    super(`A reservation cannot go from ${from} to ${to}.`);
  }
}

/** True when a reservation in `from` may move to `to`. */
export function canTransition(from: ReservationStatus, to: ReservationStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The reservation moved to `to` at `now`; throws {@link IllegalTransitionError} if illegal. */
export function transition(
  reservation: Reservation,
  to: ReservationStatus,
  now: Date,
): Reservation {
  if (!canTransition(reservation.status, to)) {
    throw new IllegalTransitionError(reservation.status, to);
  }
  const { expiresAt, ...rest } = reservation;
  // Only unconfirmed units expire, and an EXPIRED one keeps it until its units are back.
  const keepsExpiry = (to === 'RESERVED' || to === 'EXPIRED') && expiresAt !== undefined;
  return {
    ...rest,
    status: to,
    updatedAt: now.toISOString(),
    ...(keepsExpiry ? { expiresAt } : {}),
  };
}

/**
 * One line per sku, sorted: a request naming a sku twice holds the sum, and a sorted order makes
 * every attempt of the same order touch the skus in the same sequence.
 */
export function normalizeLines(lines: readonly ReservationLine[]): ReservationLine[] {
  const quantities = new Map<string, number>();
  for (const { sku, quantity } of lines) quantities.set(sku, (quantities.get(sku) ?? 0) + quantity);
  return [...quantities]
    .map(([sku, quantity]) => ({ sku, quantity }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** Whether two requests name the same units: the same sums per sku, in any order. */
export function sameLines(a: readonly ReservationLine[], b: readonly ReservationLine[]): boolean {
  const x = normalizeLines(a);
  const y = normalizeLines(b);
  return (
    x.length === y.length &&
    x.every((line, i) => line.sku === y[i]?.sku && line.quantity === y[i].quantity)
  );
}

/** How long units stay held for an order inventory has not seen placed (15 minutes). */
export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;

/** A new reservation attempt for an order, not holding anything yet, expiring after `ttlMs`. */
export function startReservation(
  orderId: string,
  lines: readonly ReservationLine[],
  now: Date,
  ttlMs: number = DEFAULT_RESERVATION_TTL_MS,
): Reservation {
  const at = now.toISOString();
  return {
    orderId,
    status: 'RESERVING',
    lines: normalizeLines(lines),
    createdAt: at,
    updatedAt: at,
    expiresAt: expiryAfter(now, ttlMs),
  };
}

/**
 * The expiry time `ttlMs` after `now`, as an ISO string: fixed-width, so string order is time
 * order and `{ expiresAt: { $lte: now } }` works on every MongoDB-compatible store.
 */
export function expiryAfter(now: Date, ttlMs: number): string {
  return new Date(now.getTime() + ttlMs).toISOString();
}

/** True when `expiresAt` is set and not after `now`. */
function pastExpiry(reservation: Reservation, now: Date): boolean {
  return reservation.expiresAt !== undefined && reservation.expiresAt <= now.toISOString();
}

/**
 * True when the sweeper should expire the reservation: RESERVED past its expiry, or a RESERVING
 * attempt past its expiry whose process died (silent for `leaseMs`), which would otherwise hold
 * the units it took until the same order id is requested again.
 */
export function isExpired(reservation: Reservation, now: Date, leaseMs: number): boolean {
  if (!pastExpiry(reservation, now)) return false;
  if (reservation.status === 'RESERVED') return true;
  return isAbandoned(reservation, now, leaseMs);
}

/**
 * True for an EXPIRED reservation whose units may not all be back yet: the status moves first
 * and `expiresAt` is removed only once every line was given back, so a crash in between is
 * finished by the next sweep (each give-back is a no-op for a line already back).
 */
export function isExpiryUnfinished(reservation: Reservation): boolean {
  return reservation.status === 'EXPIRED' && reservation.expiresAt !== undefined;
}

/**
 * When the expiry sweeper should next look at the reservation, as an ISO time, or undefined once
 * it can no longer expire (confirmed, settled, or expired with its units back). RESERVED (and an
 * EXPIRED one with units still to give back) is due at `expiresAt`; a RESERVING attempt only
 * expires once it is also abandoned, so not before its lease runs out.
 */
export function nextExpiryCheck(reservation: Reservation, leaseMs: number): string | undefined {
  const { expiresAt, status } = reservation;
  if (expiresAt === undefined) return undefined;
  switch (status) {
    case 'RESERVED':
    case 'EXPIRED':
      return expiresAt;
    case 'RESERVING': {
      const leaseEnds = new Date(Date.parse(reservation.updatedAt) + leaseMs).toISOString();
      return leaseEnds > expiresAt ? leaseEnds : expiresAt;
    }
    case 'CONFIRMED':
    case 'RELEASED':
    case 'COMMITTED':
      return undefined;
  }
}

/** What an OrderPlaced does to the order's reservation, by its current status. */
export type ConfirmAction =
  /** RESERVED: confirm it (conditionally: an expiry may win the race). */
  | 'confirm'
  /** CONFIRMED, or already settled by a shipment: nothing to do. */
  | 'none'
  /** EXPIRED: the order exists after all; hold its units again if they are still free. */
  | 'reinstate'
  /** RESERVING: the reservation is still being made; retry the event later. */
  | 'wait'
  /** No reservation, or one released by a cancel before the OrderPlaced was seen. */
  | 'unknown';

/** The action an OrderPlaced takes on the order's reservation. */
export function confirmAction(reservation: Reservation | null): ConfirmAction {
  switch (reservation?.status) {
    case 'RESERVED':
      return 'confirm';
    case 'CONFIRMED':
    case 'COMMITTED':
      return 'none';
    case 'EXPIRED':
      return 'reinstate';
    case 'RESERVING':
      return 'wait';
    case 'RELEASED':
    case undefined:
      return 'unknown';
  }
}

/**
 * True when a RESERVING attempt made no progress for `leaseMs`: its process died midway, so a
 * retry of the same order may take it over (every stock step is idempotent per order and sku).
 */
export function isAbandoned(reservation: Reservation, now: Date, leaseMs: number): boolean {
  return (
    reservation.status === 'RESERVING' &&
    now.getTime() - Date.parse(reservation.updatedAt) >= leaseMs
  );
}

/** A reservation past its RESERVING attempt, as the API may show it. */
export type VisibleReservation = Reservation & { status: VisibleStatus };

/** True once the reservation is RESERVED, RELEASED or COMMITTED. */
export function isVisible(reservation: Reservation): reservation is VisibleReservation {
  return (VISIBLE_STATUSES as readonly ReservationStatus[]).includes(reservation.status);
}
