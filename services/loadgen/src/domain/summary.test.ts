import assert from 'node:assert/strict';
import { createOrderTracker } from './orders.js';
import { classify, STEPS } from './outcome.js';
import { seededRandom } from './random.js';
import { createSummaryRecorder, percentile, type SnapshotContext } from './summary.js';

const orders = createOrderTracker({ random: seededRandom(3) }).summary({
  state: 'waiting',
  limitMs: 0,
  elapsedSeconds: 0,
  rounds: 0,
  reads: 0,
  failedReads: 0,
});

const context: SnapshotContext = {
  startedAt: '2026-11-27T10:00:00.000Z',
  running: true,
  elapsedMs: 10_000,
  targetRps: 20,
  concurrency: 5,
  dropped: 3,
  inProgress: 2,
  orders,
};

describe('summary', () => {
  it('percentiles by nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(samples, 50), 50);
    assert.equal(percentile(samples, 95), 95);
    assert.equal(percentile(samples, 99), 99);
    assert.equal(percentile(samples, 100), 100);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 50), 2);
    assert.equal(percentile([], 50), undefined);
  });

  it('counts each step by outcome, business answers by code, and the latency percentiles', () => {
    const recorder = createSummaryRecorder({ random: seededRandom(1) });
    // 100 browses of 1…100 ms, in a shuffled order: the percentiles must not depend on it.
    const shuffle = seededRandom(5);
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1).sort(() => 0.5 - shuffle());
    for (const ms of latencies) recorder.request('browse', 'ok', ms);
    recorder.request('checkout', 'ok', 30);
    recorder.request('checkout', 'business', 10, 'OUT_OF_STOCK');
    recorder.request('checkout', 'business', 12, 'OUT_OF_STOCK');
    recorder.request('checkout', 'business', 11, 'CART_EMPTY');
    recorder.request('search', 'rate_limited', 1);
    recorder.request('product', 'error', 5000);
    recorder.orderPlaced();
    recorder.journey('ordered');
    recorder.journey('rejected');
    recorder.journey('rejected');

    const summary = recorder.snapshot(context);
    assert.deepEqual(
      summary.steps.map((s) => s.step),
      ['browse', 'search', 'product', 'checkout'],
      'in journey order, only steps that were sent',
    );
    const browse = summary.steps[0];
    assert.deepEqual(browse, {
      step: 'browse',
      requests: 100,
      ok: 100,
      business: 0,
      businessCodes: {},
      rateLimited: 0,
      errors: 0,
      p50Ms: 50,
      p95Ms: 95,
      p99Ms: 99,
    });
    const checkout = summary.steps.find((s) => s.step === 'checkout');
    assert.ok(checkout);
    assert.deepEqual(checkout.businessCodes, { OUT_OF_STOCK: 2, CART_EMPTY: 1 });
    assert.equal(checkout.business, 3);
    assert.equal(checkout.p50Ms, 11);
    assert.equal(summary.steps.find((s) => s.step === 'search')?.rateLimited, 1);
    assert.equal(summary.steps.find((s) => s.step === 'product')?.errors, 1);
    assert.deepEqual(
      {
        requests: summary.total.requests,
        ok: summary.total.ok,
        business: summary.total.business,
        rateLimited: summary.total.rateLimited,
        errors: summary.total.errors,
      },
      { requests: 106, ok: 101, business: 3, rateLimited: 1, errors: 1 },
    );
    assert.equal(summary.total.p99Ms, 100);
    assert.equal(summary.requests, 106);
    assert.equal(summary.achievedRps, 10.6);
    assert.equal(summary.ordersPlaced, 1);
    assert.equal(summary.dropped, 3);
    assert.deepEqual(summary.journeys, {
      ordered: 1,
      abandoned: 0,
      rejected: 2,
      rate_limited: 0,
      failed: 0,
      inProgress: 2,
    });
  });

  it('keeps a bounded, fair sample of latencies on a long run', () => {
    const recorder = createSummaryRecorder({ random: seededRandom(2), maxSamples: 1000 });
    // 100 000 requests, uniformly 0–999 ms: the sampled median stays near 500.
    for (let i = 0; i < 100_000; i++) recorder.request('browse', 'ok', (i * 7919) % 1000);
    const browse = recorder.snapshot(context).steps[0];
    assert.ok(browse);
    assert.equal(browse.requests, 100_000);
    assert.ok(browse.p50Ms !== null);
    assert.ok(Math.abs(browse.p50Ms - 500) < 60, String(browse.p50Ms));
  });

  it('an empty run has no percentiles and no rate', () => {
    const summary = createSummaryRecorder({ random: seededRandom(1) }).snapshot({
      ...context,
      elapsedMs: 0,
    });
    assert.equal(summary.achievedRps, 0);
    assert.deepEqual(summary.steps, []);
    assert.equal(summary.total.p50Ms, null);
  });
});

describe('classify', () => {
  it('tells ok, business, rate-limited and error answers apart', () => {
    for (const step of STEPS) {
      assert.equal(classify(step, 200), 'ok');
      assert.equal(classify(step, 202), 'ok');
      assert.equal(classify(step, 204), 'ok');
      assert.equal(classify(step, 429), 'rate_limited');
      assert.equal(classify(step, 409), 'business');
      for (const status of [0, 400, 401, 403, 500, 502, 503, 504]) {
        assert.equal(classify(step, status), 'error', `${step} ${String(status)}`);
      }
    }
    assert.equal(classify('product', 404), 'business');
    assert.equal(classify('add-to-cart', 404), 'business');
    assert.equal(classify('order-status', 404), 'business');
    assert.equal(classify('browse', 404), 'error');
    assert.equal(classify('checkout', 404), 'error');
  });
});
