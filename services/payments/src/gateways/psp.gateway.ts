import { setTimeout as sleep } from 'node:timers/promises';
import { simulatedDecision, type PaymentRequest, type PspDecision } from '../domain/payment.js';

/** The payment service provider: asked to authorise an order's amount. */
export interface PspGateway {
  /** Authorises the amount; `orderId` doubles as the idempotency key a real PSP would take. */
  authorize(request: PaymentRequest): Promise<PspDecision>;
}

/** Settings of the simulated provider. */
export interface SimulatedPspOptions {
  /** How long each authorisation takes, in ms. */
  latencyMs: number;
  /** Share of orders declined, 0–1. */
  declineRate: number;
}

/**
 * A simulated remote PSP: it answers after `latencyMs` with the deterministic decision of
 * {@link simulatedDecision}, so every replica and every redelivery agree on an order.
 */
export function simulatedPspGateway(options: SimulatedPspOptions): PspGateway {
  return {
    authorize: async (request) => {
      if (options.latencyMs > 0) await sleep(options.latencyMs);
      return simulatedDecision(request.orderId, options.declineRate);
    },
  };
}
