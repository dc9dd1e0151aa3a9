import { createHash, randomUUID } from 'node:crypto';

/**
 * A payment's states. PENDING is stored before the provider is asked, so a crash or a
 * duplicate delivery resumes the same payment (same id, the provider's idempotency key)
 * instead of charging again; the API serves only the two outcomes, which are final.
 */
export type PaymentStatus = 'PENDING' | 'AUTHORIZED' | 'DECLINED';

/** The outcome a stored payment has. */
export type SettledStatus = Exclude<PaymentStatus, 'PENDING'>;

/** The legal moves: a pending payment settles once; a settled one never changes. */
const TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  PENDING: ['AUTHORIZED', 'DECLINED'],
  AUTHORIZED: [],
  DECLINED: [],
};

/** A move the state machine forbids, e.g. AUTHORIZED → DECLINED. */
export class IllegalPaymentTransition extends Error {
  override readonly name = 'IllegalPaymentTransition';
  constructor(
    readonly from: PaymentStatus,
    readonly to: PaymentStatus,
  ) {
    super(`A payment cannot go from ${from} to ${to}.`);
  }
}

/** True when `from → to` is a legal move. */
export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What is charged: the placed order's amount, for its customer. */
export interface PaymentRequest {
  orderId: string;
  userId: string;
  amountMinor: number;
  currency: string;
}

/** A payment being authorised. */
export interface PendingPayment extends PaymentRequest {
  paymentId: string;
  status: 'PENDING';
  createdAt: string;
}

/** A payment as stored and served: authorised, or declined with a reason. */
export interface Payment extends PaymentRequest {
  paymentId: string;
  status: SettledStatus;
  reason?: string;
  createdAt: string;
}

/** The provider's answer. */
export type PspDecision = { approved: true } | { approved: false; reason: string };

/** Why the simulated provider declines, as real ones put it. */
export const DECLINE_REASONS = [
  'insufficient funds',
  'card expired',
  'do not honor',
  'suspected fraud',
] as const;

/**
 * The simulated provider's decision for an order: the first 4 bytes of sha256(orderId) as a
 * fraction of 2^32, declined when below `declineRate`. Deterministic, so a redelivered
 * OrderPlaced (or a retry after a crash) gets the same answer; the 5th byte picks the reason.
 */
export function simulatedDecision(orderId: string, declineRate: number): PspDecision {
  const digest = createHash('sha256').update(orderId).digest();
  const fraction = digest.readUInt32BE(0) / 2 ** 32;
  if (fraction >= declineRate) return { approved: true };
  const reason = DECLINE_REASONS[(digest[4] ?? 0) % DECLINE_REASONS.length] ?? 'do not honor';
  return { approved: false, reason };
}

/** Starts the payment of an order now. */
export function startPayment(request: PaymentRequest, now: Date): PendingPayment {
  return {
    paymentId: randomUUID(),
    orderId: request.orderId,
    userId: request.userId,
    amountMinor: request.amountMinor,
    currency: request.currency,
    status: 'PENDING',
    createdAt: now.toISOString(),
  };
}

/** Settles a payment with the provider's decision: PENDING → AUTHORIZED or DECLINED. */
export function settle(payment: PendingPayment | Payment, decision: PspDecision): Payment {
  const to: SettledStatus = decision.approved ? 'AUTHORIZED' : 'DECLINED';
  if (!canTransition(payment.status, to)) throw new IllegalPaymentTransition(payment.status, to);
  const { paymentId, orderId, userId, amountMinor, currency, createdAt } = payment;
  const settled = { paymentId, orderId, userId, amountMinor, currency, createdAt };
  return decision.approved
    ? { ...settled, status: 'AUTHORIZED' }
    : { ...settled, status: 'DECLINED', reason: decision.reason };
}
