import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrometheusServer } from '@emporium/harness';
import { z } from 'zod';
import { cpuByLabel } from '../processes.js';
import type { Measurement } from '../results.js';
import type { Scenario, ScenarioContext } from '../scenario.js';
import { spread } from '../stats.js';

/** Shoppers checking out at once, each placing its next order as soon as one is accepted. */
const SHOPPERS = 8;
const PLACING_SECONDS = 30;
/** How long placed orders may take to become final after the last checkout. */
const DRAIN_SECONDS = 90;
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
  const by = 'sum by (job, method, route)';
  const samples = await prometheus.query(
    `${by} (increase(http_server_request_duration_seconds_sum[${window}])) / ${by} (increase(http_server_request_duration_seconds_count[${window}])) > 0`,
  );
  return samples
    .map((s) => ({
      route: `${s.metric.job ?? '?'} ${s.metric.method ?? ''} ${s.metric.route ?? ''}`,
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

/** One shopper: cart line, checkout, again, until the deadline. */
async function shop(
  gateway: string,
  bearer: string,
  skus: readonly string[],
  until: number,
  placed: Placed[],
  failures: string[],
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
      const { orderId } = await json(Accepted, `${gateway}/api/orders`, {
        method: 'POST',
        headers: { ...headers, 'idempotency-key': randomUUID() },
      });
      placed.push({ orderId, bearer });
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
}

/** Each order's seconds from creation to its final state; undefined while not final. */
async function finalTimes(
  gateway: string,
  orders: readonly Placed[],
): Promise<{ seconds: number[]; pending: Placed[]; finalAt: number[] }> {
  const seconds: number[] = [];
  const finalAt: number[] = [];
  const pending: Placed[] = [];
  for (const order of orders) {
    const o = await json(Order, `${gateway}/api/orders/${order.orderId}`, {
      headers: { authorization: order.bearer },
    });
    if (o.status === 'SHIPPED' || o.status === 'CANCELLED') {
      // Both stamps are orders' own clock: updatedAt is when it recorded the final step.
      const created = Date.parse(o.createdAt);
      const updated = Date.parse(o.updatedAt);
      seconds.push((updated - created) / 1000);
      finalAt.push(updated);
    } else {
      pending.push(order);
    }
  }
  return { seconds, pending, finalAt };
}

async function run(context: ScenarioContext): ReturnType<Scenario['run']> {
  const { stack } = await context.fixtures.get('stack');
  const gateway = stack.gatewayUrl;
  if (!gateway) throw new Error('the stack has no gateway');
  const skus = await skusInStock(gateway);
  if (skus.length === 0) throw new Error('inventory knows no stock after 60 s');
  const bearers = await Promise.all(
    Array.from({ length: SHOPPERS }, async (_, i) => {
      const { access_token } = await json(Token, `${gateway}/dev/token`, {
        method: 'POST',
        body: JSON.stringify({ user: `bench-shopper-${String(i)}` }),
      });
      return `Bearer ${access_token}`;
    }),
  );
  context.log(`${String(SHOPPERS)} shoppers check out for ${String(PLACING_SECONDS)} s`);
  const placed: Placed[] = [];
  const failures: string[] = [];
  const cpuBefore = await cpuByLabel();
  const began = performance.now();
  await Promise.all(
    bearers.map((bearer) =>
      shop(gateway, bearer, skus, began + PLACING_SECONDS * 1000, placed, failures),
    ),
  );
  const placingSeconds = (performance.now() - began) / 1000;
  const cpuAfter = await cpuByLabel();
  context.log(`${String(placed.length)} orders placed; waiting for them to become final`);
  let routes: { route: string; ms: number }[] = [];
  if (stack.prometheus) {
    // One scrape interval (5 s) later, Prometheus has the checkouts' last requests.
    await sleep(6000);
    routes = await slowestRoutes(stack.prometheus, placingSeconds + 6);
  }

  let pending: readonly Placed[] = placed;
  const seconds: number[] = [];
  const finalAt: number[] = [];
  const drainUntil = performance.now() + DRAIN_SECONDS * 1000;
  while (pending.length > 0 && performance.now() < drainUntil) {
    const round = await finalTimes(gateway, pending);
    seconds.push(...round.seconds);
    finalAt.push(...round.finalAt);
    pending = round.pending;
    if (pending.length > 0) await sleep(2000);
  }
  if (seconds.length === 0) throw new Error('no order became final');

  const busiest = [...cpuAfter.entries()]
    .map(([label, total]) => ({
      label,
      share: (total - (cpuBefore.get(label) ?? 0)) / placingSeconds,
    }))
    .sort((x, y) => y.share - x.share)
    .slice(0, BUSIEST);
  const sorted = [...seconds].sort((x, y) => x - y);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const firstFinal = Math.min(...finalAt);
  const lastFinal = Math.max(...finalAt);
  const measurements: Measurement[] = [
    {
      name: 'checkouts accepted',
      unit: 'orders/s',
      value: spread([placed.length / placingSeconds]),
    },
    {
      name: 'orders final (SHIPPED or CANCELLED)',
      unit: 'orders/s',
      value: spread([seconds.length / Math.max(1, (lastFinal - firstFinal) / 1000)]),
    },
    { name: 'p50 time to final state', unit: 's', value: spread([at(0.5)]) },
    { name: 'p99 time to final state', unit: 's', value: spread([at(0.99)]) },
    {
      name: `not final ${String(DRAIN_SECONDS)} s after the last checkout`,
      unit: 'orders',
      value: spread([pending.length]),
    },
    { name: 'failed checkouts', unit: 'requests', value: spread([failures.length]) },
    ...busiest.map(({ label, share }): Measurement => ({
      name: `CPU during checkouts, ${label}`,
      unit: '% of a core',
      value: spread([share * 100]),
    })),
    ...routes.map(({ route, ms }): Measurement => ({
      name: `mean server time, ${route}`,
      unit: 'ms',
      value: spread([ms]),
    })),
  ];
  return {
    measurements,
    notes: [
      `${String(SHOPPERS)} shoppers through the gateway (with sidecars), each putting a line in its cart and checking out, then again, for ${String(PLACING_SECONDS)} s; payments never declined. Time to final state is orders' own createdAt to the updatedAt of its last step; orders/s final counts from the first final order to the last.`,
      `The bottleneck: the busiest processes while the checkouts ran, as a share of one core (${busiest.map((b) => `${b.label} ${(b.share * 100).toFixed(0)}%`).join(', ')}), and the routes whose servers took longest on average (Prometheus, http_server_request_duration_seconds).`,
      ...(failures.length > 0
        ? [`First failed checkout: ${failures[0]?.slice(0, 200) ?? ''}`]
        : []),
    ],
  };
}

/** Orders from checkout to SHIPPED through the whole stack, at saturation. */
export const saga: Scenario = {
  name: 'saga',
  pair: 'orders from `POST /api/orders` to SHIPPED through the whole stack, 8 shoppers at saturation',
  // Needs the whole stack, which alone takes longer to start than the smoke may run.
  inSmoke: false,
  needs: () => ['stack'],
  run,
};
