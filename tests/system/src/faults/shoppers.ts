import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a shopper's request was for. */
export type RequestKind = 'cart' | 'checkout' | 'read';

/** One request a shopper sent, as the client saw it. */
export interface RequestRecord {
  readonly kind: RequestKind;
  /** When it was sent, ms since the epoch. */
  readonly startedAt: number;
  /** How long until the whole answer was read (or the client gave up), in ms. */
  readonly ms: number;
  /** The HTTP status; 0 when no answer came (refused, reset, or the client's own timeout). */
  readonly status: number;
  readonly contentType: string;
  readonly retryAfter: string | null;
  /** The problem document's `code`, when the body was one. */
  readonly code?: string;
  /** Why no answer came, or the start of a body that was not JSON. */
  readonly detail?: string;
}

/** An order the gateway answered 202 for. */
export interface AcceptedOrder {
  readonly orderId: string;
  readonly idempotencyKey: string;
  /** When the 202 arrived, ms since the epoch. */
  readonly acceptedAt: number;
  /** Checkout requests it took (more than one after a 503/504, with the same key). */
  readonly attempts: number;
}

/** Options of {@link startShoppers}. */
export interface ShopperOptions {
  gatewayUrl: string;
  /** One bearer token per shopper. */
  tokens: readonly string[];
  /** SKUs to buy, one unit per order, in turn. */
  skus: readonly string[];
  /** Checkouts per second per shopper. */
  checkoutsPerSecond: number;
  /** Where every request is recorded (shared across loads, so one log covers the suite). */
  records: RequestRecord[];
  /** Where every accepted order is recorded. */
  accepted: AcceptedOrder[];
}

/** Running shoppers. */
export interface ShopperLoad {
  /** Resolves with the first order accepted, or rejects after `ms`. */
  firstAccepted(ms: number): Promise<void>;
  /** No new checkouts; resolves once every shopper has finished the one it was on. */
  stop(): Promise<void>;
}

/**
 * The client's own bound on a request: far past anything the stack should take, so a hang is
 * recorded as one (status 0, the whole wait) rather than waited out.
 */
const CLIENT_TIMEOUT_MS = 30_000;
/** How long a shopper keeps retrying one checkout through an outage before giving it up. */
const CHECKOUT_PATIENCE_MS = 120_000;
/** The longest a shopper waits between two tries, whatever Retry-After says. */
const MAX_WAIT_MS = 5_000;

/** Statuses after which a client should try the same request again (with the same key). */
const RETRYABLE = new Set([0, 502, 503, 504]);

interface Answer {
  readonly record: RequestRecord;
  readonly json: unknown;
}

async function send(
  kind: RequestKind,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  records: RequestRecord[],
): Promise<Answer> {
  const startedAt = Date.now();
  const began = performance.now();
  let record: RequestRecord;
  let json: unknown;
  try {
    const response = await fetch(url, {
      ...init,
      headers: { 'content-type': 'application/json', ...init.headers },
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    let code: string | undefined;
    let detail: string | undefined;
    try {
      json = text ? (JSON.parse(text) as unknown) : undefined;
      if (typeof json === 'object' && json !== null && 'code' in json) {
        code = typeof json.code === 'string' ? json.code : undefined;
      }
    } catch {
      detail = text.slice(0, 120);
    }
    record = {
      kind,
      startedAt,
      ms: performance.now() - began,
      status: response.status,
      contentType,
      retryAfter: response.headers.get('retry-after'),
      ...(code === undefined ? {} : { code }),
      ...(detail === undefined ? {} : { detail }),
    };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    record = {
      kind,
      startedAt,
      ms: performance.now() - began,
      status: 0,
      contentType: '',
      retryAfter: null,
      detail: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
    };
  }
  records.push(record);
  return { record, json };
}

/** How long to wait before trying again: the server's Retry-After, within bounds. */
function backoff(record: RequestRecord): number {
  const seconds = Number(record.retryAfter);
  const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
  return Math.min(MAX_WAIT_MS, ms);
}

/**
 * Starts shoppers that each, in a loop: put one unit of the next SKU in the cart, check out
 * with a fresh Idempotency-Key, and read the order back. A checkout that meets an outage (no
 * answer, 502/503/504, or a cart Redis lost meanwhile) is tried again after Retry-After with
 * the SAME key, as a client should, so it is one order however many tries it took.
 */
export function startShoppers(options: ShopperOptions): ShopperLoad {
  const { gatewayUrl, records, accepted } = options;
  let stopping = false;
  // Read through a call: the loops must see what stop() sets meanwhile, not a narrowed `false`.
  const stopped = (): boolean => stopping;
  const period = 1000 / options.checkoutsPerSecond;
  let onAccepted: (() => void) | undefined;

  const checkout = async (bearer: string, sku: string): Promise<void> => {
    const headers = { authorization: bearer };
    const key = randomUUID();
    const giveUpAt = Date.now() + CHECKOUT_PATIENCE_MS;
    let attempts = 0;
    while (Date.now() < giveUpAt) {
      const cart = await send(
        'cart',
        `${gatewayUrl}/api/cart/lines/${encodeURIComponent(sku)}`,
        { method: 'PUT', headers, body: JSON.stringify({ quantity: 1 }) },
        records,
      );
      if (cart.record.status !== 200) {
        if (!RETRYABLE.has(cart.record.status)) return;
        await sleep(backoff(cart.record));
        continue;
      }
      attempts++;
      const placed = await send(
        'checkout',
        `${gatewayUrl}/api/orders`,
        { method: 'POST', headers: { ...headers, 'idempotency-key': key } },
        records,
      );
      const { status } = placed.record;
      if (status === 202) {
        const body = placed.json as { orderId?: unknown } | undefined;
        const orderId = typeof body?.orderId === 'string' ? body.orderId : '';
        accepted.push({ orderId, idempotencyKey: key, acceptedAt: Date.now(), attempts });
        onAccepted?.();
        await send(
          'read',
          `${gatewayUrl}/api/orders/${encodeURIComponent(orderId)}`,
          { method: 'GET', headers },
          records,
        );
        return;
      }
      // A cart Redis lost in its restart: fill it again and repeat the same checkout.
      const emptied = status === 409 && placed.record.code === 'CART_EMPTY';
      if (!RETRYABLE.has(status) && !emptied) return;
      await sleep(backoff(placed.record));
    }
  };

  const shopper = async (bearer: string, index: number): Promise<void> => {
    // Spread over the period so the shoppers do not all check out on the same tick.
    await sleep((period * index) / options.tokens.length);
    for (let turn = index; !stopped(); turn += options.tokens.length) {
      const began = performance.now();
      await checkout(bearer, options.skus[turn % options.skus.length] ?? '');
      const rest = period - (performance.now() - began);
      if (rest > 0 && !stopped()) await sleep(rest);
    }
  };

  const running = Promise.all(options.tokens.map((token, i) => shopper(`Bearer ${token}`, i)));
  const before = accepted.length;
  return {
    firstAccepted: async (ms) => {
      if (accepted.length > before) return;
      const timeout = sleep(ms, 'timeout' as const);
      const first = new Promise<'ok'>((resolve) => {
        onAccepted = () => {
          resolve('ok');
        };
      });
      if ((await Promise.race([first, timeout])) === 'timeout') {
        throw new Error(`no checkout accepted within ${String(ms)} ms`);
      }
    },
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

/** Whether the client got anything but a 2xx (no answer at all included). */
export function isClientError(record: RequestRecord): boolean {
  return record.status < 200 || record.status >= 300;
}

/**
 * Whether a request broke the contract clients rely on during an outage: it took longer than
 * `limitMs`, or failed with anything but a problem document that is either a 4xx, a 504, or a
 * 503 with Retry-After (so a 500, a 502, no answer, or a bare proxy page are unclean).
 */
export function isUnclean(record: RequestRecord, limitMs: number): boolean {
  if (record.ms > limitMs) return true;
  if (!isClientError(record)) return false;
  const problem = record.contentType.startsWith('application/problem+json');
  if (record.status === 503) return !(problem && record.retryAfter !== null);
  if (record.status === 504 || (record.status >= 400 && record.status < 500)) return !problem;
  return true;
}
