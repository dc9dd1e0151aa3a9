import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrometheusServer } from '@emporium/harness';
import { z } from 'zod';
import { lineChartSvg, type ChartSeries } from '../charts.js';
import { cpuByLabel } from '../processes.js';
import type { Measurement } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { spread } from '../stats.js';

/** How long placed orders may take to become final after a point's last checkout. */
const DRAIN_SECONDS = 45;
/** The processes named in the table: the busiest during the checkouts. */
const BUSIEST = 6;
/** The routes named in the table: the slowest on the servers' side during the checkouts. */
const SLOWEST = 6;

/**
 * Where a checkout's time goes: each service's mean time per route over the checkouts, from
 * the HTTP server histograms the stack's Prometheus scraped (job = the service).
 */
async function slowestRoutes(
  prometheus: PrometheusServer,
  seconds: number,
): Promise<{ route: string; ms: number }[]> {
  const window = `${String(Math.ceil(seconds))}s`;
  const by = 'sum by (job, http_request_method, http_route)';
  const samples = await prometheus.query(
    `${by} (increase(http_server_request_duration_seconds_sum[${window}])) / ${by} (increase(http_server_request_duration_seconds_count[${window}])) > 0`,
  );
  return samples
    .map((s) => ({
      route: `${s.metric.job ?? '?'} ${s.metric.http_request_method ?? ''} ${s.metric.http_route ?? ''}`,
      ms: Number(s.value[1]) * 1000,
    }))
    .filter((r) => Number.isFinite(r.ms))
    .sort((x, y) => y.ms - x.ms)
    .slice(0, SLOWEST);
}

const Token = z.object({ access_token: z.string() });
const Page = z.object({ items: z.array(z.object({ id: z.string(), sku: z.string() })).min(1) });
const View = z.object({ stock: z.object({ available: z.number() }).nullable() });
const Accepted = z.object({ orderId: z.string() });
const Order = z.object({
  status: z.enum(['PENDING', 'PAID', 'SHIPPED', 'CANCELLED']),
  createdAt: z.string(),
  updatedAt: z.string(),
});

async function json<T>(schema: z.ZodType<T>, url: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('content-type', 'application/json');
  const response = await fetch(url, { ...init, headers });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${init.method ?? 'GET'} ${url}: ${String(response.status)} ${text}`);
  }
  return schema.parse(JSON.parse(text));
}

/** SKUs whose stock inventory already knows (it learns them from catalog's events). */
async function skusInStock(gateway: string): Promise<string[]> {
  const page = await json(Page, `${gateway}/api/products?limit=20`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const skus: string[] = [];
    for (const product of page.items) {
      const view = await json(View, `${gateway}/api/products/${product.id}/page`);
      if (view.stock && view.stock.available > 1000) skus.push(product.sku);
    }
    if (skus.length >= 5 || Date.now() > deadline) return skus;
    await sleep(1000);
  }
}

interface Placed {
  readonly orderId: string;
  readonly bearer: string;
}

/** What one point of the curve saw while its shoppers checked out. */
interface Placing {
  readonly placed: Placed[];
  /** Each accepted checkout's `POST /api/orders`, in ms. */
  readonly checkoutMs: number[];
  readonly failures: string[];
}

/** One shopper: cart line, checkout, again, until the deadline. */
async function shop(
  gateway: string,
  bearer: string,
  skus: readonly string[],
  until: number,
  out: Placing,
): Promise<void> {
  const headers = { authorization: bearer };
  for (let i = 0; performance.now() < until; i++) {
    const sku = skus[i % skus.length] ?? '';
    try {
      await json(z.unknown(), `${gateway}/api/cart/lines/${sku}`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ quantity: 1 }),
      });
      const began = performance.now();
      const { orderId } = await json(Accepted, `${gateway}/api/orders`, {
        method: 'POST',
        headers: { ...headers, 'idempotency-key': randomUUID() },
      });
      out.checkoutMs.push(performance.now() - began);
      out.placed.push({ orderId, bearer });
    } catch (err) {
      out.failures.push(err instanceof Error ? err.message : String(err));
    }
  }
}

/** Each order's seconds from creation to its final state; undefined while not final. */
async function finalTimes(
  gateway: string,
  orders: readonly Placed[],
): Promise<{ seconds: number[]; pending: Placed[] }> {
  const seconds: number[] = [];
  const pending: Placed[] = [];
  for (const order of orders) {
    const o = await json(Order, `${gateway}/api/orders/${order.orderId}`, {
      headers: { authorization: order.bearer },
    });
    if (o.status === 'SHIPPED' || o.status === 'CANCELLED') {
      // Both stamps are orders' own clock: updatedAt is when it recorded the final step.
      seconds.push((Date.parse(o.updatedAt) - Date.parse(o.createdAt)) / 1000);
    } else {
      pending.push(order);
    }
  }
  return { seconds, pending };
}

/** Waits for `placed` to become final, for at most {@link DRAIN_SECONDS}. */
async function drain(
  gateway: string,
  placed: readonly Placed[],
): Promise<{ seconds: number[]; pending: number }> {
  let pending: readonly Placed[] = placed;
  const seconds: number[] = [];
  const until = performance.now() + DRAIN_SECONDS * 1000;
  while (pending.length > 0 && performance.now() < until) {
    const round = await finalTimes(gateway, pending);
    seconds.push(...round.seconds);
    pending = round.pending;
    if (pending.length > 0) await sleep(1000);
  }
  return { seconds, pending: pending.length };
}

/** The `q` quantile of `values` by nearest rank; NaN for none. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** One point of the curve: its shoppers, what they placed, and how fast it became final. */
interface Point {
  readonly shoppers: number;
  readonly checkoutsPerSecond: number;
  readonly checkoutP50Ms: number;
  readonly checkoutP99Ms: number;
  readonly finalP50Ms: number;
  readonly finalP99Ms: number;
  readonly failures: number;
  readonly notFinal: number;
  readonly firstFailure: string | undefined;
}

async function run(context: ScenarioContext): ReturnType<Scenario['run']> {
  const { profile } = context;
  const { stack } = await context.fixtures.get('stack');
  const gateway = stack.gatewayUrl;
  if (!gateway) throw new Error('the stack has no gateway');
  const skus = await skusInStock(gateway);
  if (skus.length === 0) throw new Error('inventory knows no stock after 60 s');
  const most = Math.max(...profile.sagaShoppers);
  const bearers = await Promise.all(
    Array.from({ length: most }, async (_, i) => {
      const { access_token } = await json(Token, `${gateway}/dev/token`, {
        method: 'POST',
        body: JSON.stringify({ user: `bench-shopper-${String(i)}` }),
      });
      return `Bearer ${access_token}`;
    }),
  );

  const points: Point[] = [];
  let busiest: { label: string; share: number }[] = [];
  let routes: { route: string; ms: number }[] = [];
  for (const shoppers of profile.sagaShoppers) {
    context.log(`${String(shoppers)} shoppers check out for ${String(profile.sagaSeconds)} s`);
    const placing: Placing = { placed: [], checkoutMs: [], failures: [] };
    const cpuBefore = await cpuByLabel();
    const began = performance.now();
    await Promise.all(
      bearers
        .slice(0, shoppers)
        .map((bearer) => shop(gateway, bearer, skus, began + profile.sagaSeconds * 1000, placing)),
    );
    const placingSeconds = (performance.now() - began) / 1000;
    if (shoppers === most) {
      // The busiest point is where the bottleneck shows: which processes worked, which routes waited.
      const cpuAfter = await cpuByLabel();
      busiest = [...cpuAfter.entries()]
        .map(([label, total]) => ({
          label,
          share: (total - (cpuBefore.get(label) ?? 0)) / placingSeconds,
        }))
        .sort((x, y) => y.share - x.share)
        .slice(0, BUSIEST);
      if (stack.prometheus) {
        // One scrape interval (5 s) later, Prometheus has the checkouts' last requests.
        await sleep(6000);
        routes = await slowestRoutes(stack.prometheus, placingSeconds + 6);
      }
    }
    const final = await drain(gateway, placing.placed);
    points.push({
      shoppers,
      checkoutsPerSecond: placing.placed.length / placingSeconds,
      checkoutP50Ms: quantile(placing.checkoutMs, 0.5),
      checkoutP99Ms: quantile(placing.checkoutMs, 0.99),
      finalP50Ms: quantile(final.seconds, 0.5) * 1000,
      finalP99Ms: quantile(final.seconds, 0.99) * 1000,
      failures: placing.failures.length,
      notFinal: final.pending,
      firstFailure: placing.failures[0],
    });
    context.log(
      `  ${String(placing.placed.length)} orders (${String(placing.failures.length)} failed), ` +
        `${String(final.pending)} not final after ${String(DRAIN_SECONDS)} s`,
    );
  }

  const curve = (label: string, pick: (p: Point) => number): ChartSeries => ({
    name: label,
    points: points.map((p) => ({ x: p.shoppers, y: pick(p) })),
  });
  const charts = await Promise.all([
    context.chart(
      'saga',
      await lineChartSvg({
        title: 'Saga: latency by concurrent shoppers',
        xLabel: 'concurrent shoppers',
        yLabel: 'ms',
        xLog: true,
        yLog: true,
        series: [
          curve('checkout p50', (p) => p.checkoutP50Ms),
          curve('checkout p99', (p) => p.checkoutP99Ms),
          curve('to SHIPPED p50', (p) => p.finalP50Ms),
          curve('to SHIPPED p99', (p) => p.finalP99Ms),
        ],
      }),
    ),
    context.chart(
      'saga-throughput',
      await lineChartSvg({
        title: 'Saga: checkouts accepted per second by concurrent shoppers',
        xLabel: 'concurrent shoppers',
        yLabel: 'orders/s',
        xLog: true,
        series: [curve('checkouts accepted', (p) => p.checkoutsPerSecond)],
      }),
    ),
  ]);

  const per = (p: Point): string => `${String(p.shoppers)} shopper${p.shoppers === 1 ? '' : 's'}`;
  // A point whose checkouts all failed has no latencies: those figures are left out, its
  // failures are not.
  const measurements: Measurement[] = points.flatMap((p) =>
    (
      [
        [`checkouts accepted, ${per(p)}`, 'orders/s', p.checkoutsPerSecond],
        [`checkout p99, ${per(p)}`, 'ms', p.checkoutP99Ms],
        [`p50 time to final state, ${per(p)}`, 's', p.finalP50Ms / 1000],
        [`p99 time to final state, ${per(p)}`, 's', p.finalP99Ms / 1000],
        [`failed checkouts, ${per(p)}`, 'requests', p.failures],
        [
          `not final ${String(DRAIN_SECONDS)} s after the last checkout, ${per(p)}`,
          'orders',
          p.notFinal,
        ],
      ] as const
    )
      .filter(([, , value]) => Number.isFinite(value))
      .map(([name, unit, value]): Measurement => ({ name, unit, value: spread([value]) })),
  );
  measurements.push(
    ...busiest.map(({ label, share }): Measurement => ({
      name: `CPU during checkouts at ${String(most)} shoppers, ${label}`,
      unit: '% of a core',
      value: spread([share * 100]),
    })),
    ...routes.map(({ route, ms }): Measurement => ({
      name: `mean server time at ${String(most)} shoppers, ${route}`,
      unit: 'ms',
      value: spread([ms]),
    })),
  );
  const failed = points.find((p) => p.firstFailure !== undefined);
  return {
    measurements,
    notes: [
      `Shoppers through the gateway (with sidecars), each putting a line in its cart and checking out, then again, for ${String(profile.sagaSeconds)} s per point (${profile.sagaShoppers.join(', ')} shoppers); payments never declined. Checkout latency is the client's \`POST /api/orders\`; time to final state is orders' own createdAt to the updatedAt of its last step. Charts: ${charts.join(', ')}.`,
      `The bottleneck at ${String(most)} shoppers: the busiest processes as a share of one core (${busiest.map((b) => `${b.label} ${(b.share * 100).toFixed(0)}%`).join(', ')}), and the routes whose servers took longest on average (Prometheus, http_server_request_duration_seconds).`,
      ...(failed?.firstFailure !== undefined
        ? [`First failed checkout (${per(failed)}): ${failed.firstFailure.slice(0, 200)}`]
        : []),
    ],
  };
}

/** Orders from checkout to SHIPPED through the whole stack, as concurrent shoppers grow. */
export const saga: Scenario = {
  name: 'saga',
  pair: 'orders from `POST /api/orders` to SHIPPED through the whole stack at 1, 2, 4, 8, 16 and 32 concurrent shoppers',
  // Needs the whole stack, which alone takes longer to start than the smoke may run.
  inSmoke: false,
  needs: () => ['stack'],
  run,
};
