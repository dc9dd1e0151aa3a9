/** The steps of a shopper's visit, in the order a journey takes them. */
export const STEPS = [
  'token',
  'browse',
  'search',
  'product',
  'clear-cart',
  'add-to-cart',
  'view-cart',
  'checkout',
  'order-status',
] as const;

/** One kind of request a shopper sends. */
export type Step = (typeof STEPS)[number];

/** How one request ended. */
export const OUTCOMES = ['ok', 'business', 'rate_limited', 'error'] as const;

/**
 * `ok`: a 2xx. `business`: a 4xx the store answers in normal trading (a 409 such as an empty
 * cart or short stock, a 404 for a product that went away). `rate_limited`: a 429. `error`:
 * everything else, 5xx, timeouts, refused connections, and 4xx that mean a bug on either side.
 */
export type Outcome = (typeof OUTCOMES)[number];

/** Steps where a 404 is the store's answer about a product or order, not a broken route. */
const NOT_FOUND_IS_BUSINESS: ReadonlySet<Step> = new Set([
  'product',
  'add-to-cart',
  'order-status',
]);

/** Classifies an answer; `status` 0 means there was none (timeout, connection refused). */
export function classify(step: Step, status: number): Outcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429) return 'rate_limited';
  if (status === 409) return 'business';
  if (status === 404 && NOT_FOUND_IS_BUSINESS.has(step)) return 'business';
  return 'error';
}
