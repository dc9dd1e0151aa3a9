import { z } from 'zod';
import type { Outcome, Step } from './outcome.js';
import { chance, intBetween, pickOne, type Random } from './random.js';

/** The part of a catalog product a shopper looks at (the gateway sends more). */
const ProductSchema = z.looseObject({
  id: z.string().min(1),
  sku: z.string().min(1),
  name: z.string(),
});

/** A product as a shopper saw it in a list. */
export type SeenProduct = z.output<typeof ProductSchema>;

/** `GET /api/products`: a page of products and the catalog's size. */
const ProductListSchema = z.looseObject({
  items: z.array(ProductSchema),
  total: z.int().min(0).optional(),
});

/** `GET /api/products/:id/page`. */
const ProductViewSchema = z.looseObject({ product: ProductSchema });

/** `POST /api/orders` → 202. */
const OrderAcceptedSchema = z.looseObject({ orderId: z.string().min(1) });

/** An HTTP method a shopper uses. */
export type StepMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** The request a journey wants sent next. */
export interface StepRequest {
  step: Step;
  method: StepMethod;
  /** Path and query under the gateway's base URL, segments already encoded. */
  path: string;
  /** Sent as JSON when present. */
  body?: unknown;
  /** Whether it needs the shopper's bearer token. */
  auth: boolean;
}

/** How a sent step ended, as the journey needs to know it. */
export interface StepResult {
  status: number;
  outcome: Outcome;
  /** The parsed JSON answer, if any. */
  body: unknown;
}

/** How a whole visit ended. */
export const JOURNEY_OUTCOMES = [
  'ordered',
  'abandoned',
  'rejected',
  'rate_limited',
  'failed',
] as const;

/**
 * `ordered`: checkout accepted. `abandoned`: the shopper left without ordering (as planned, or
 * nothing could be put in the cart). `rejected`: checkout answered 409 (empty cart, short
 * stock). `rate_limited`: a step got a 429 and the shopper moved on. `failed`: a step failed.
 */
export type JourneyOutcome = (typeof JOURNEY_OUTCOMES)[number];

/** Options of {@link startJourney}. */
export interface JourneyOptions {
  user: string;
  random: Random;
  /** The share of journeys that check out, 0–1. */
  checkoutRatio: number;
  /** The share of journeys that search for a word after browsing, 0–1 (default 0.5). */
  searchRatio?: number;
  /** The catalog's size if a journey already learned it: browsing then starts at a random page. */
  catalogTotal?: number | undefined;
  /** Products per list request (default 20). */
  pageSize?: number;
}

/** One shopper's visit: a state machine that says which request comes next. */
export interface Journey {
  readonly user: string;
  /** Whether this visit means to check out. */
  readonly plansCheckout: boolean;
  /** The step to send now; undefined once the journey is over. */
  next(): StepRequest | undefined;
  /** Feeds the answer to the step {@link next} returned and moves on. */
  record(result: StepResult): void;
  /** Ends the journey because a request outside it (the token) was refused or failed. */
  fail(outcome: 'rate_limited' | 'failed'): void;
  /** How it ended; undefined while it goes on. */
  outcome(): JourneyOutcome | undefined;
  /** The catalog's size, once a browse answered it. */
  catalogTotal(): number | undefined;
}

type Phase = Exclude<Step, 'token'> | 'done';

/** Words of a product name long enough to search for. */
function searchWords(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length >= 3);
}

/**
 * Starts a visit: browse a page of the catalog, maybe search for a word of a product's name,
 * open one product's page, empty the cart, put 1–3 products in it, look at it and, with
 * probability `checkoutRatio`, place the order and read it back once. Every random choice
 * comes from `random`, so a seeded source replays the same visit.
 */
export function startJourney(options: JourneyOptions): Journey {
  const { user, random } = options;
  const pageSize = options.pageSize ?? 20;
  const plansCheckout = chance(options.checkoutRatio, random);
  const plansSearch = chance(options.searchRatio ?? 0.5, random);
  const wantedLines = intBetween(1, 3, random);
  const offset =
    options.catalogTotal !== undefined && options.catalogTotal > pageSize
      ? intBetween(0, options.catalogTotal - pageSize, random)
      : 0;

  let phase: Phase = 'browse';
  let ended: JourneyOutcome | undefined;
  let total: number | undefined;
  let candidates: SeenProduct[] = [];
  let viewed: SeenProduct | undefined;
  let searchFor: string | undefined;
  let toAdd: { sku: string; quantity: number }[] = [];
  let addIndex = 0;
  let added = 0;
  let orderId: string | undefined;
  let pending: StepRequest | undefined;

  const finish = (outcome: JourneyOutcome): void => {
    ended = outcome;
    phase = 'done';
    pending = undefined;
  };

  /** The request of the current phase, with the random choices it needs made once. */
  const requestFor = (current: Exclude<Phase, 'done'>): StepRequest => {
    switch (current) {
      case 'browse':
        return {
          step: 'browse',
          method: 'GET',
          path: `/api/products?limit=${String(pageSize)}&offset=${String(offset)}`,
          auth: false,
        };
      case 'search':
        return {
          step: 'search',
          method: 'GET',
          path: `/api/products?limit=${String(pageSize)}&q=${encodeURIComponent(searchFor ?? '')}`,
          auth: false,
        };
      case 'product':
        viewed = pickOne(candidates, random);
        return {
          step: 'product',
          method: 'GET',
          path: `/api/products/${encodeURIComponent(viewed?.id ?? '')}/page`,
          auth: false,
        };
      case 'clear-cart':
        return { step: 'clear-cart', method: 'DELETE', path: '/api/cart', auth: true };
      case 'add-to-cart': {
        const line = toAdd[addIndex] ?? { sku: '', quantity: 1 };
        return {
          step: 'add-to-cart',
          method: 'PUT',
          path: `/api/cart/lines/${encodeURIComponent(line.sku)}`,
          body: { quantity: line.quantity },
          auth: true,
        };
      }
      case 'view-cart':
        return { step: 'view-cart', method: 'GET', path: '/api/cart', auth: true };
      case 'checkout':
        return { step: 'checkout', method: 'POST', path: '/api/orders', auth: true };
      case 'order-status':
        return {
          step: 'order-status',
          method: 'GET',
          path: `/api/orders/${encodeURIComponent(orderId ?? '')}`,
          auth: true,
        };
    }
  };

  const enter = (next: Phase): void => {
    phase = next;
    pending = next === 'done' ? undefined : requestFor(next);
  };

  /** After browsing (and maybe searching): search if planned and possible, else a product. */
  const afterBrowse = (): void => {
    if (candidates.length === 0) {
      finish('abandoned');
      return;
    }
    const product = pickOne(candidates, random);
    const word = product ? pickOne(searchWords(product.name), random) : undefined;
    if (plansSearch && word !== undefined) {
      searchFor = word;
      enter('search');
    } else {
      enter('product');
    }
  };

  /** Chooses the lines: the viewed product (if its page loaded) and others from the list. */
  const chooseLines = (viewedOk: boolean): void => {
    const chosen: SeenProduct[] = viewedOk && viewed ? [viewed] : [];
    const others = candidates.filter((p) => p.sku !== viewed?.sku);
    while (chosen.length < wantedLines && others.length > 0) {
      const index = Math.floor(random() * others.length);
      const [product] = others.splice(index, 1);
      if (product) chosen.push(product);
    }
    toAdd = chosen.map((product) => ({ sku: product.sku, quantity: intBetween(1, 2, random) }));
  };

  const record = (result: StepResult): void => {
    if (phase === 'done') return;
    // Once the order exists the visit is a success, whatever reading it back answers.
    if (phase === 'order-status') {
      finish('ordered');
      return;
    }
    if (result.outcome === 'rate_limited' || result.outcome === 'error') {
      finish(result.outcome === 'rate_limited' ? 'rate_limited' : 'failed');
      return;
    }
    const ok = result.outcome === 'ok';
    switch (phase) {
      case 'browse': {
        const list = ProductListSchema.safeParse(result.body);
        if (!ok || !list.success) {
          finish(ok ? 'failed' : 'abandoned');
          return;
        }
        candidates = list.data.items;
        total = list.data.total;
        afterBrowse();
        return;
      }
      case 'search': {
        const list = ProductListSchema.safeParse(result.body);
        // No hit keeps the browsed page to choose from, as a shopper would go back to it.
        if (ok && list.success && list.data.items.length > 0) candidates = list.data.items;
        enter('product');
        return;
      }
      case 'product': {
        const view = ok ? ProductViewSchema.safeParse(result.body) : undefined;
        if (view?.success) viewed = view.data.product;
        chooseLines(view?.success === true);
        if (toAdd.length === 0) finish('abandoned');
        else enter('clear-cart');
        return;
      }
      case 'clear-cart':
        addIndex = 0;
        enter('add-to-cart');
        return;
      case 'add-to-cart':
        if (ok) added++;
        addIndex++;
        enter(addIndex < toAdd.length ? 'add-to-cart' : 'view-cart');
        return;
      case 'view-cart':
        if (plansCheckout && added > 0) enter('checkout');
        else finish('abandoned');
        return;
      case 'checkout': {
        if (!ok) {
          finish('rejected');
          return;
        }
        const accepted = OrderAcceptedSchema.safeParse(result.body);
        if (!accepted.success) {
          finish('ordered');
          return;
        }
        orderId = accepted.data.orderId;
        enter('order-status');
        return;
      }
    }
  };

  enter('browse');
  return {
    user,
    plansCheckout,
    next: () => pending,
    record,
    fail: (outcome) => {
      if (phase !== 'done') finish(outcome);
    },
    outcome: () => ended,
    catalogTotal: () => total,
  };
}
