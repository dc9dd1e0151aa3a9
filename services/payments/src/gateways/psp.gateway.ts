import { setTimeout as sleep } from 'node:timers/promises';
import { simulatedDecision, type PaymentRequest, type PspDecision } from '../domain/payment.js';

/** The payment service provider: asked to authorise an order's amount. */
export interface PspGateway {
  /**
   * Authorises the amount. `idempotencyKey` (the stored payment's id) makes a repeat of the
   * same payment (a crash after the answer, a duplicate delivery) an answer, not a second
   * charge, as real providers' idempotency keys do.
   */
  authorize(request: PaymentRequest, idempotencyKey: string): Promise<PspDecision>;
}

/** Settings of the simulated provider. */
export interface SimulatedPspOptions {
  /** How long each authorisation takes, in ms. */
  latencyMs: number;
  /** Share of orders declined, 0–1. */
  declineRate: number;
}

/** Idempotency keys the simulated provider remembers (a real one keeps them for a day or so). */
const REMEMBERED_KEYS = 100_000;

/**
 * A simulated remote PSP: it answers after `latencyMs` with the deterministic decision of
 * {@link simulatedDecision}, so every replica and every redelivery agree on an order, and it
 * answers a key it has seen with its first answer, as a real provider does.
 */
export function simulatedPspGateway(options: SimulatedPspOptions): PspGateway {
  const answered = new Map<string, PspDecision>();
  return {
    authorize: async (request, idempotencyKey) => {
      if (options.latencyMs > 0) await sleep(options.latencyMs);
      const seen = answered.get(idempotencyKey);
      if (seen) return seen;
      const decision = simulatedDecision(request.orderId, options.declineRate);
      // A Map iterates in insertion order: the first key is the oldest.
      if (answered.size >= REMEMBERED_KEYS) answered.delete(answered.keys().next().value ?? '');
      answered.set(idempotencyKey, decision);
      return decision;
    },
  };
}
