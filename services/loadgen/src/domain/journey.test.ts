import assert from 'node:assert/strict';
import { FAKE_PRODUCTS } from '../fixtures/fake-gateway.js';
import { startJourney, type Journey, type JourneyOptions, type StepRequest } from './journey.js';
import { classify } from './outcome.js';
import { seededRandom } from './random.js';
import { createShoppers } from './shoppers.js';

/** A scripted answer; the default is what a healthy store answers. */
type Answerer = (request: StepRequest) => { status: number; body?: unknown } | undefined;

const products = [...FAKE_PRODUCTS];

function healthy(request: StepRequest): { status: number; body?: unknown } {
  const url = new URL(request.path, 'http://gateway');
  switch (request.step) {
    case 'browse':
      return { status: 200, body: { items: products, total: 57, limit: 20, offset: 0 } };
    case 'search': {
      const q = url.searchParams.get('q') ?? '';
      const items = products.filter((p) => p.name.toLowerCase().includes(q));
      return { status: 200, body: { items, total: items.length, limit: 20, offset: 0 } };
    }
    case 'product': {
      const id = decodeURIComponent(url.pathname.split('/')[3] ?? '');
      const product = products.find((p) => p.id === id);
      return product
        ? { status: 200, body: { product, stock: { available: 3 } } }
        : { status: 404 };
    }
    case 'checkout':
      return { status: 202, body: { orderId: 'o-42', status: 'PENDING' } };
    case 'clear-cart':
      return { status: 204 };
    default:
      return { status: 200, body: {} };
  }
}

/** Runs a journey to its end against `answer` (falling back to a healthy store). */
function drive(journey: Journey, answer: Answerer = () => undefined): StepRequest[] {
  const sent: StepRequest[] = [];
  for (let request = journey.next(); request; request = journey.next()) {
    sent.push(request);
    assert.ok(sent.length < 50, 'a journey ends');
    const { status, body } = answer(request) ?? healthy(request);
    journey.record({ status, outcome: classify(request.step, status), body });
  }
  return sent;
}

const options = (seed: number, extra: Partial<JourneyOptions> = {}): JourneyOptions => ({
  user: 'alice',
  random: seededRandom(seed),
  checkoutRatio: 1,
  searchRatio: 1,
  ...extra,
});

describe('journey', () => {
  it('browses, searches a word of a product name, views a product, fills the cart, checks out and reads the order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const journey = startJourney(options(seed));
      const sent = drive(journey);
      const steps = sent.map((r) => r.step);
      const adds = sent.filter((r) => r.step === 'add-to-cart');
      assert.deepEqual(steps, [
        'browse',
        'search',
        'product',
        'clear-cart',
        ...adds.map(() => 'add-to-cart'),
        'view-cart',
        'checkout',
        'order-status',
      ]);
      assert.ok(adds.length >= 1 && adds.length <= 3, `1–3 lines, got ${String(adds.length)}`);
      const search = new URL(sent[1]?.path ?? '', 'http://g').searchParams.get('q') ?? '';
      assert.ok(search.length >= 3);
      assert.ok(
        products.some((p) => p.name.toLowerCase().split(' ').includes(search)),
        search,
      );
      const viewedId = /\/api\/products\/([^/]+)\/page/.exec(sent[2]?.path ?? '')?.[1];
      const viewed = products.find((p) => p.id === viewedId);
      assert.ok(viewed, 'views a product of the list');
      const skus = adds.map((r) => decodeURIComponent(r.path.split('/').at(-1) ?? ''));
      assert.equal(skus[0], viewed.sku, 'the viewed product goes in first');
      assert.equal(new Set(skus).size, skus.length, 'distinct lines');
      for (const add of adds) {
        const { quantity } = add.body as { quantity: number };
        assert.ok(add.method === 'PUT' && quantity >= 1 && quantity <= 2);
      }
      assert.deepEqual(
        sent.map((r) => r.auth),
        steps.map((s) => !['browse', 'search', 'product'].includes(s)),
      );
      assert.equal(sent.at(-1)?.path, '/api/orders/o-42');
      assert.equal(journey.outcome(), 'ordered');
      assert.equal(journey.catalogTotal(), 57);
    }
  });

  it('a visit without checkout or search browses, fills the cart and leaves it', () => {
    const journey = startJourney(options(7, { checkoutRatio: 0, searchRatio: 0 }));
    const steps = drive(journey).map((r) => r.step);
    assert.deepEqual(steps.slice(0, 3), ['browse', 'product', 'clear-cart']);
    assert.equal(steps.at(-1), 'view-cart');
    assert.ok(!steps.includes('checkout') && !steps.includes('search'));
    assert.equal(journey.outcome(), 'abandoned');
    assert.equal(journey.plansCheckout, false);
  });

  it('checks out with about the configured share of visits', () => {
    const random = seededRandom(3);
    let planned = 0;
    for (let i = 0; i < 2_000; i++) {
      if (startJourney({ user: 'u', random, checkoutRatio: 0.3 }).plansCheckout) planned++;
    }
    assert.ok(planned > 520 && planned < 680, String(planned));
  });

  it('starts browsing at a random page once the catalog size is known', () => {
    const offsets = new Set<number>();
    for (let seed = 1; seed <= 50; seed++) {
      const first = startJourney(options(seed, { catalogTotal: 57 })).next();
      const offset = Number(new URL(first?.path ?? '', 'http://g').searchParams.get('offset'));
      assert.ok(offset >= 0 && offset <= 37, String(offset));
      offsets.add(offset);
    }
    assert.ok(offsets.size > 5, 'pages vary');
    assert.match(startJourney(options(1)).next()?.path ?? '', /offset=0$/);
  });

  it('the same seed replays the same visit', () => {
    const a = drive(startJourney(options(11)));
    const b = drive(startJourney(options(11)));
    assert.deepEqual(a, b);
  });

  it('a 429 ends the visit as rate limited, a 5xx or no answer as failed', () => {
    const limited = startJourney(options(5));
    const sent = drive(limited, (r) => (r.step === 'search' ? { status: 429 } : undefined));
    assert.deepEqual(
      sent.map((r) => r.step),
      ['browse', 'search'],
    );
    assert.equal(limited.outcome(), 'rate_limited');
    assert.equal(limited.next(), undefined);

    const broken = startJourney(options(5));
    drive(broken, (r) => (r.step === 'product' ? { status: 500 } : undefined));
    assert.equal(broken.outcome(), 'failed');
    const silent = startJourney(options(5));
    assert.equal(drive(silent, () => ({ status: 0 })).length, 1);
    assert.equal(silent.outcome(), 'failed');
  });

  it('a 409 at checkout is a rejected visit, not a failed one', () => {
    const journey = startJourney(options(9));
    const sent = drive(journey, (r) => (r.step === 'checkout' ? { status: 409 } : undefined));
    assert.equal(sent.at(-1)?.step, 'checkout');
    assert.equal(journey.outcome(), 'rejected');
  });

  it('a product gone (404) is left out of the cart; the rest of the list still is', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const journey = startJourney(options(seed, { searchRatio: 0 }));
      const sent = drive(journey, (r) => (r.step === 'product' ? { status: 404 } : undefined));
      const viewedId = /\/api\/products\/([^/]+)\/page/.exec(sent[1]?.path ?? '')?.[1];
      const viewedSku = products.find((p) => p.id === viewedId)?.sku ?? '?';
      const adds = sent.filter((r) => r.step === 'add-to-cart');
      assert.ok(adds.length >= 1);
      assert.ok(adds.every((r) => !r.path.endsWith(`/${viewedSku}`)));
      assert.equal(journey.outcome(), 'ordered');
    }
  });

  it('does not check out a cart none of whose lines went in', () => {
    const journey = startJourney(options(4));
    const sent = drive(journey, (r) => (r.step === 'add-to-cart' ? { status: 409 } : undefined));
    assert.ok(!sent.some((r) => r.step === 'checkout'));
    assert.equal(journey.outcome(), 'abandoned');
  });

  it('an empty catalog ends the visit after browsing', () => {
    const journey = startJourney(options(2));
    const sent = drive(journey, () => ({ status: 200, body: { items: [], total: 0 } }));
    assert.deepEqual(
      sent.map((r) => r.step),
      ['browse'],
    );
    assert.equal(journey.outcome(), 'abandoned');
  });

  it('fail() ends the visit with the outcome of the request outside it', () => {
    const journey = startJourney(options(2));
    journey.fail('rate_limited');
    assert.equal(journey.next(), undefined);
    assert.equal(journey.outcome(), 'rate_limited');
  });
});

describe('shoppers', () => {
  it('keeps each user in one journey at a time and lets waiting journeys go first', () => {
    const started: string[] = [];
    const shoppers = createShoppers({
      users: ['u1', 'u2'],
      startJourney: (user) => {
        started.push(user);
        return startJourney({ user, random: seededRandom(1), checkoutRatio: 0 });
      },
    });
    const a = shoppers.take();
    const b = shoppers.take();
    assert.deepEqual([a?.user, b?.user], ['u1', 'u2']);
    assert.equal(shoppers.take(), undefined, 'every user is busy');
    assert.equal(shoppers.open(), 2);
    assert.ok(a && b);
    a.record({ status: 200, outcome: 'ok', body: { items: products, total: 4 } });
    assert.equal(shoppers.settle(a), undefined, 'not over: waits for its next step');
    assert.equal(shoppers.take(), a, 'a waiting journey before a new one');
    b.fail('failed');
    assert.equal(shoppers.settle(b), 'failed');
    assert.equal(shoppers.open(), 1);
    const c = shoppers.take();
    assert.equal(c?.user, 'u2', 'the freed user starts again');
    assert.deepEqual(started, ['u1', 'u2', 'u2']);
  });
});
