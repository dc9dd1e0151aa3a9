/** Where a reservation is in its life; RESERVING is internal (never shown by the API). */
export type ReservationStatus = 'RESERVING' | 'RESERVED' | 'RELEASED' | 'COMMITTED';

/** The statuses the HTTP API shows; a RESERVING reservation is not one yet. */
export const VISIBLE_STATUSES = ['RESERVED', 'RELEASED', 'COMMITTED'] as const;

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
}

/**
 * The legal moves: RESERVING ends in RESERVED (a failed attempt is deleted instead), and a
 * RESERVED order is either released (cancelled) or committed (shipped), never both.
 */
const TRANSITIONS: Readonly<Record<ReservationStatus, readonly ReservationStatus[]>> = {
  RESERVING: ['RESERVED'],
  RESERVED: ['RELEASED', 'COMMITTED'],
  RELEASED: [],
  COMMITTED: [],
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
  return { ...reservation, status: to, updatedAt: now.toISOString() };
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

/** A new reservation attempt for an order, not holding anything yet. */
export function startReservation(
  orderId: string,
  lines: readonly ReservationLine[],
  now: Date,
): Reservation {
  const at = now.toISOString();
  return {
    orderId,
    status: 'RESERVING',
    lines: normalizeLines(lines),
    createdAt: at,
    updatedAt: at,
  };
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
