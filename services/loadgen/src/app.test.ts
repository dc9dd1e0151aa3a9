import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertValidOpenApi } from '@emporium/harness';
import { createLogger, createMetrics, type HttpApp } from '@emporium/platform';
import request from 'supertest';
import { buildApp } from './app.js';
import { configSchema } from './config.js';
import { seededRandom } from './domain/random.js';
import { STEPS, type Outcome, type Step } from './domain/outcome.js';
import type { Summary } from './domain/summary.js';
import { startFakeGateway, type FakeGateway, type Override } from './fixtures/fake-gateway.js';
import { storeGateway } from './gateways/store.gateway.js';
import { loadgenMetrics } from './loadgen.metrics.js';
import { createRunner, type Runner } from './runner.js';

const logger = createLogger({ service: 'loadgen', version: 'test', level: 'silent' });

const problem = (status: number, code: string) => ({
  type: `urn:emporium:problem:${code.toLowerCase()}`,
  title: 'Error',
  status,
  detail: code,
  code,
});

/** The value of the one sample of `name` whose labels include `labels`; 0 when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (match?.[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(
        (m) => [m[1] ?? '', m[2] ?? ''] as const,
      ),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return 0;
}

const AUTHED: readonly Step[] = [
  'clear-cart',
  'add-to-cart',
  'view-cart',
  'checkout',
  'order-status',
];

/** A runner and app over the stand-in, as main.ts wires them. */
function wire(
  gateway: FakeGateway,
  users: string[],
  rps: number,
): { runner: Runner; http: HttpApp } {
  const metrics = createMetrics({ service: 'loadgen', runtimeMetrics: false });
  const config = configSchema.parse({ UPSTREAM_GATEWAY_URL: gateway.url });
  const runner = createRunner({
    rps,
    concurrency: users.length,
    users,
    checkoutRatio: 1,
    store: storeGateway({
      baseUrl: config.UPSTREAM_GATEWAY_URL,
      tokenUrl: config.LOADGEN_TOKEN_URL,
      timeoutMs: 2_000,
    }),
    metrics: loadgenMetrics(metrics),
    logger,
    random: seededRandom(42),
  });
  return { runner, http: buildApp(config, { stats: runner, metrics, logger }) };
}

describe('loadgen against a stand-in gateway', () => {
  describe('a run with rate limits, server errors and short stock', () => {
    let gateway: FakeGateway;
    let http: HttpApp;
    let live: Summary;
    let summary: Summary;

    before(async () => {
      // Every other search is rate limited, the first product page fails, and every other
      // checkout finds the stock short. Tokens live 2 s, so a 3 s run renews them.
      gateway = await startFakeGateway({
        tokenSeconds: 2,
        override: (step, index): Override | undefined => {
          if (step === 'search' && index % 2 === 0) {
            return {
              status: 429,
              body: problem(429, 'RATE_LIMITED'),
              headers: { 'retry-after': '1' },
            };
          }
          if (step === 'product' && index === 0)
            return { status: 500, body: problem(500, 'INTERNAL') };
          if (step === 'checkout' && index % 2 === 1) {
            return { status: 409, body: problem(409, 'OUT_OF_STOCK') };
          }
          return undefined;
        },
      });
      const wired = wire(gateway, ['alice', 'bob', 'carol'], 40);
      http = wired.http;
      wired.runner.start();
      await sleep(1_500);
      live = (await request(http.app).get('/stats').expect(200)).body as Summary;
      await sleep(1_500);
      summary = await wired.runner.stop();
    });

    after(async () => {
      await gateway.stop();
    });

    it('fetches a token per shopper, renews it before expiry, and sends it as a bearer', () => {
      const tokens = gateway.of('token');
      assert.ok(tokens.every((t) => t.status === 200));
      const perUser = new Map<string, number>();
      for (const t of tokens) {
        const user = (t.body as { user: string }).user;
        perUser.set(user, (perUser.get(user) ?? 0) + 1);
      }
      assert.deepEqual([...perUser.keys()].sort(), ['alice', 'bob', 'carol']);
      assert.ok(
        [...perUser.values()].some((n) => n >= 2),
        `2 s tokens are renewed in a 3 s run: ${JSON.stringify([...perUser])}`,
      );
      const authed = gateway.seen.filter((s) => AUTHED.includes(s.step as Step));
      assert.ok(authed.length > 10);
      for (const entry of authed) {
        assert.match(entry.authorization ?? '', /^Bearer t\.[a-z]+\.\d+$/);
        assert.ok(entry.user, `a valid, unexpired token on ${entry.method} ${entry.url}`);
      }
      assert.ok(gateway.seen.every((s) => s.status !== 401));
      assert.ok(
        gateway.seen
          .filter((s) => ['browse', 'search', 'product'].includes(s.step))
          .every((s) => s.authorization === undefined),
        'browsing stays anonymous',
      );
    });

    it('fills the cart before every checkout', () => {
      const checkouts = gateway.of('checkout');
      assert.ok(checkouts.length >= 2, `checkouts: ${String(checkouts.length)}`);
      for (const checkout of checkouts) assert.ok((checkout.cartLines ?? 0) >= 1);
      // Per user, each checkout follows a clear-cart and at least one accepted line.
      for (const user of ['alice', 'bob', 'carol']) {
        let lines = 0;
        for (const entry of gateway.seen.filter((s) => s.user === user)) {
          if (entry.step === 'clear-cart') lines = 0;
          if (entry.step === 'add-to-cart' && entry.status === 200) lines++;
          if (entry.step === 'checkout') assert.ok(lines >= 1, `${user} checked out an empty cart`);
        }
      }
    });

    it('counts 409 at checkout as business, 429 as rate limited and 500 as an error', () => {
      const statuses = (step: Step, status: number) =>
        gateway.of(step).filter((s) => s.status === status).length;
      const step = (name: Step) => summary.steps.find((s) => s.step === name);
      const rejected = statuses('checkout', 409);
      const placed = statuses('checkout', 202);
      const limited = statuses('search', 429);
      assert.ok(rejected > 0 && placed > 0 && limited > 0, JSON.stringify(summary.journeys));
      assert.equal(step('checkout')?.business, rejected);
      assert.deepEqual(step('checkout')?.businessCodes, { OUT_OF_STOCK: rejected });
      assert.equal(step('checkout')?.errors, 0);
      assert.equal(step('search')?.rateLimited, limited);
      assert.equal(step('search')?.errors, 0);
      assert.equal(step('product')?.errors, 1);
      assert.equal(summary.ordersPlaced, placed);
      assert.equal(summary.journeys.rejected, rejected);
      assert.equal(summary.journeys.rate_limited, limited);
      assert.equal(summary.journeys.failed, 1);
      assert.equal(summary.journeys.ordered, placed);
    });

    it('counts every request the gateway saw, by step, and keeps the rate', () => {
      for (const name of STEPS) {
        const seen = gateway.of(name);
        const line = summary.steps.find((s) => s.step === name);
        assert.equal(line?.requests ?? 0, seen.length, name);
        assert.equal(line?.ok ?? 0, seen.filter((s) => s.status < 300).length, name);
      }
      assert.equal(summary.requests, gateway.seen.length);
      assert.equal(summary.total.requests, gateway.seen.length);
      assert.ok((summary.total.p50Ms ?? 0) > 0);
      // Every tick until stop() was either sent or dropped: 40 per second, plus the one at 0.
      const ticks = summary.requests + summary.dropped;
      const expected = 40 * summary.elapsedSeconds + 1;
      assert.ok(Math.abs(ticks - expected) <= 3, `${String(ticks)} ticks, ${String(expected)} due`);
      assert.equal(summary.running, false);
      assert.equal(live.running, true);
      assert.ok(live.requests > 0 && live.requests < summary.requests);
    });

    it('/metrics exposes the counters with the same values', async () => {
      const text = (await request(http.app).get('/metrics').expect(200)).text;
      const outcomes: readonly Outcome[] = ['ok', 'business', 'rate_limited', 'error'];
      for (const line of summary.steps) {
        const byOutcome: Record<Outcome, number> = {
          ok: line.ok,
          business: line.business,
          rate_limited: line.rateLimited,
          error: line.errors,
        };
        for (const outcome of outcomes) {
          assert.equal(
            sample(text, 'loadgen_requests_total', { step: line.step, outcome }),
            byOutcome[outcome],
            `${line.step} ${outcome}`,
          );
        }
        assert.equal(
          sample(text, 'loadgen_request_duration_seconds_count', { step: line.step }),
          line.requests,
        );
      }
      assert.equal(sample(text, 'loadgen_orders_placed_total'), summary.ordersPlaced);
      assert.equal(sample(text, 'loadgen_dropped_total'), summary.dropped);
      assert.equal(sample(text, 'loadgen_in_flight'), 0);
      for (const outcome of ['ordered', 'rejected', 'rate_limited', 'failed', 'abandoned']) {
        assert.equal(
          sample(text, 'loadgen_journeys_total', { outcome }),
          summary.journeys[outcome as keyof Summary['journeys']],
          outcome,
        );
      }
      assert.match(text, /^loadgen_requests_total\{[^}]*service="loadgen"/m);
    });

    it('/stats answers the final summary once stopped', async () => {
      const stats = (await request(http.app).get('/stats').expect(200)).body as Summary;
      assert.deepEqual(stats, summary);
    });

    it('documents /stats in a valid OpenAPI document', async () => {
      const document = (await request(http.app).get('/openapi.json').expect(200)).body as {
        paths: Record<string, unknown>;
      };
      await assertValidOpenApi(document);
      assert.ok('/stats' in document.paths);
    });
  });

  describe('the settle phase', () => {
    /**
     * Runs every journey to checkout for at least `ms` and until `orders` were placed (a busy
     * machine may need longer), then stops.
     */
    async function load(gateway: FakeGateway, ms: number, orders = 3): Promise<Runner> {
      const { runner } = wire(gateway, ['alice', 'bob', 'carol'], 40);
      runner.start();
      await sleep(ms);
      for (let i = 0; i < 100 && runner.summary().ordersPlaced < orders; i++) await sleep(100);
      await runner.stop();
      return runner;
    }

    const placedIds = (gateway: FakeGateway): string[] =>
      gateway
        .of('checkout')
        .filter((s) => s.status === 202)
        .map((_, i) => `o-${String(i + 1)}`);

    it('reads orders back until final, times them by their history, and names those that never are', async () => {
      // o-1 sticks at PAID; o-2 is cancelled; the rest ship 400 ms after they were placed.
      const gateway = await startFakeGateway({
        finalAfterMs: 400,
        stuck: (id) => id === 'o-1',
        cancels: (id) => id === 'o-2',
      });
      try {
        const runner = await load(gateway, 1_200);
        const placed = placedIds(gateway);
        assert.ok(placed.length >= 3, `orders placed: ${String(placed.length)}`);
        const loadReads = gateway.of('order-status').length;
        const started = performance.now();
        const summary = await runner.settle({ limitMs: 1_500, intervalMs: 200 });
        const settledMs = performance.now() - started;

        const { orders } = summary;
        assert.equal(orders.placed, placed.length);
        assert.equal(orders.placed, summary.ordersPlaced);
        assert.deepEqual(
          { final: orders.final, shipped: orders.shipped, cancelled: orders.cancelled },
          { final: placed.length - 1, shipped: placed.length - 2, cancelled: 1 },
        );
        assert.equal(orders.notFinal, 1);
        assert.deepEqual(orders.notFinalByStatus, { PAID: 1 });
        // From the history, not from when loadgen happened to look: exactly 400 ms each.
        assert.deepEqual(orders.timeToFinal, { p50Ms: 400, p95Ms: 400, p99Ms: 400, maxMs: 400 });
        assert.equal(orders.late, 0);
        assert.equal(orders.lateAfterMs, 60_000);

        // The stuck order kept it going until 1.5 s after the last checkout, and no longer.
        assert.equal(orders.settle.state, 'done');
        assert.equal(orders.settle.limitMs, 1_500);
        assert.ok(settledMs > 700 && settledMs < 3_000, `settled in ${String(settledMs)} ms`);
        assert.ok(orders.settle.rounds >= 3, `rounds: ${String(orders.settle.rounds)}`);
        assert.equal(orders.settle.failedReads, 0);

        // Every read went to the gateway with the owner's token (a stranger's would be a 404),
        // and none of them counts as load.
        const reads = gateway.of('order-status').slice(loadReads);
        assert.equal(reads.length, orders.settle.reads);
        assert.ok(reads.every((r) => r.status === 200));
        assert.equal(
          summary.steps.find((s) => s.step === 'order-status')?.requests ?? 0,
          loadReads,
        );
        // Passes are paced: the stuck order was read about every 200 ms, not in a busy loop.
        const stuckReads = reads.filter((r) => r.url === '/api/orders/o-1').length;
        assert.ok(
          stuckReads >= 3 && stuckReads <= 12,
          `the stuck order was read ${String(stuckReads)} times`,
        );
        // Settling twice does nothing more.
        assert.deepEqual((await runner.settle({ limitMs: 1_500 })).orders, orders);
      } finally {
        await gateway.stop();
      }
    });

    it('ends as soon as every order is final, and reads nothing with settle 0', async () => {
      const gateway = await startFakeGateway({ finalAfterMs: 100 });
      try {
        const runner = await load(gateway, 800);
        const started = performance.now();
        const summary = await runner.settle({ limitMs: 30_000, intervalMs: 200 });
        assert.ok(performance.now() - started < 2_000, 'not the whole settle time');
        assert.equal(summary.orders.settle.state, 'done');
        assert.equal(summary.orders.notFinal, 0);
        assert.equal(summary.orders.final, placedIds(gateway).length);

        const skipping = await load(gateway, 500);
        const before = gateway.seen.length;
        const skipped = await skipping.settle({ limitMs: 0 });
        assert.equal(gateway.seen.length, before, 'no request at all');
        assert.equal(skipped.orders.settle.state, 'skipped');
        assert.equal(skipped.orders.settle.reads, 0);
        assert.ok(skipped.orders.placed > 0);
      } finally {
        await gateway.stop();
      }
    });

    it('stops early when aborted, and counts reads that failed', async () => {
      let failing = false;
      const gateway = await startFakeGateway({
        stuck: () => true,
        // Every read of the settle phase (after the journeys' own) times out at the gateway.
        override: (step) =>
          failing && step === 'order-status'
            ? { status: 504, body: problem(504, 'UPSTREAM_TIMEOUT') }
            : undefined,
      });
      try {
        const runner = await load(gateway, 600);
        failing = true;
        const abort = new AbortController();
        setTimeout(() => {
          abort.abort();
        }, 700);
        const started = performance.now();
        const summary = await runner.settle({
          limitMs: 60_000,
          intervalMs: 200,
          signal: abort.signal,
        });
        assert.ok(performance.now() - started < 2_000);
        assert.equal(summary.orders.settle.state, 'interrupted');
        const { orders } = summary;
        assert.ok(orders.placed > 0);
        assert.equal(orders.final, 0);
        assert.equal(orders.notFinal, orders.placed);
        // Last seen by the journey's own read-back, or never seen.
        const byStatus = Object.entries(orders.notFinalByStatus);
        assert.ok(byStatus.every(([status]) => ['PENDING', 'PAID', 'UNSEEN'].includes(status)));
        assert.equal(
          byStatus.reduce((sum, [, n]) => sum + n, 0),
          orders.placed,
        );
        assert.ok(orders.settle.reads >= orders.placed, 'a first pass at least');
        assert.equal(orders.settle.failedReads, orders.settle.reads);
      } finally {
        await gateway.stop();
      }
    });
  });

  it('never sends a signed-in step without a token: a refused token fails the journey', async () => {
    const gateway = await startFakeGateway({ refuseUsers: () => true });
    try {
      const { runner } = wire(gateway, ['shopper-1', 'shopper-2'], 50);
      runner.start();
      await sleep(800);
      const summary = await runner.stop();
      const tokens = gateway.of('token');
      assert.ok(tokens.length >= 2);
      assert.ok(tokens.every((t) => t.status === 400));
      assert.equal(gateway.seen.filter((s) => AUTHED.includes(s.step as Step)).length, 0);
      assert.equal(summary.steps.find((s) => s.step === 'token')?.errors, tokens.length);
      assert.equal(summary.journeys.failed, tokens.length);
      assert.equal(summary.ordersPlaced, 0);
    } finally {
      await gateway.stop();
    }
  });
});
