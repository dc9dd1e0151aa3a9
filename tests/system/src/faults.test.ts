import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '@emporium/harness';
import { startTestIssuer, type TestIssuer } from '@emporium/platform/testing';
import {
  freeStackPorts,
  LOCAL_ROUTE_TIMEOUT_MS,
  SERVICES,
  startStack,
  type ControlName,
  type ServiceName,
  type Stack,
  type StackPorts,
} from '@emporium/scripts/stack';
import {
  isClientError,
  isUnclean,
  startShoppers,
  type AcceptedOrder,
  type RequestRecord,
} from './faults/shoppers.js';
import {
  checkPayments,
  checkStock,
  connectTopics,
  readStores,
  type StoredStock,
  type Stores,
  type Topics,
} from './faults/stores.js';
import { formatTable, type FaultRow } from './faults/table.js';

/** Concurrent shoppers, each checking out about once a second. */
const SHOPPERS = 4;
/** How long Kafka, FerretDB and Redis stay down; FAULTS_DOWN_SECONDS shortens it for dev runs. */
const DOWN_MS = Number(process.env.FAULTS_DOWN_SECONDS ?? '20') * 1000;
/** Every accepted order must be SHIPPED or CANCELLED this long after the load stops. */
const FINAL_WITHIN_MS = 60_000;
/** A request slower than this hung past the route timeout. */
const HANG_MS = LOCAL_ROUTE_TIMEOUT_MS + 1000;
/**
 * Unconfirmed reservations expire this soon (15 minutes by default), so the orphans a kill
 * leaves (stock reserved for an order never stored) are swept within the suite and "no
 * reservation older than its expiry" means something. Short enough that an outage can make an
 * OrderPlaced or a ShipmentDispatched reach inventory after its order's reservation expired:
 * inventory must then hold (or commit) the units again from what is free, and the stock check
 * shows it if it does not. FAULTS_RESERVATION_TTL_SECONDS changes it.
 */
const RESERVATION_TTL_MS = Number(process.env.FAULTS_RESERVATION_TTL_SECONDS ?? '120') * 1000;
/** How often inventory sweeps expired reservations (a reservation may be this much overdue). */
const SWEEP_INTERVAL_MS = 5_000;
/** How long after a restart the first checkout may take to be accepted. */
const RECOVERY_TIMEOUT_MS = 90_000;
/** A pause between two faults, so each row starts from a working system. */
const SETTLE_MS = 1_000;
/** SKUs the shoppers buy. */
const SKU_COUNT = 8;

/** Where the gateway's rate limiter never interferes with the load. */
const NO_RATE_LIMITS = {
  RATE_LIMIT_IP_CAPACITY: '1000000',
  RATE_LIMIT_IP_REFILL_PER_SECOND: '1000000',
  RATE_LIMIT_USER_CAPACITY: '1000000',
  RATE_LIMIT_USER_REFILL_PER_SECOND: '1000000',
};

/** The three kinds of fault, each followed by a drain and a check of the stores. */
type Group = 'infrastructure' | 'kill -9' | 'graceful';

/** A fault as it happened. */
interface Step {
  readonly fault: string;
  readonly group: Group;
  /** When the fault began (its row counts the requests answered from then on). */
  readonly from: number;
  restartAt: number;
  /** When the first checkout after the restart was accepted; NaN if none came. */
  recoveredAt: number;
}

/** When a group's load ran: from its first shopper to the last answer after it stopped. */
interface GroupSpan {
  readonly group: Group;
  readonly from: number;
  to: number;
}

/** What the check after a group found. */
interface GroupCheck {
  readonly group: Group;
  /** Accepted orders of the group that were SHIPPED or CANCELLED within the minute. */
  readonly final: ReadonlySet<string>;
  readonly stockDrift: number;
  readonly problems: string[];
}

const FINAL = new Set(['SHIPPED', 'CANCELLED']);

/** Each service's variables in this suite, beside HTTP_REUSE_PORT. */
const SERVICE_ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  gateway: NO_RATE_LIMITS,
  // Both branches of the saga: about one payment in five is declined.
  payments: { PSP_DECLINE_RATE: '0.2' },
  inventory: {
    INVENTORY_INITIAL_STOCK: '100000',
    RESERVATION_TTL_MS: String(RESERVATION_TTL_MS),
    RESERVATION_SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
  },
};

/** Progress on stderr, so a slow run shows where it is. */
function log(message: string): void {
  process.stderr.write(`faults: ${message}\n`);
}

describe('faults: the whole stack through kill -9, restarts and a rolling restart', function () {
  this.timeout(1_200_000);
  let issuer: TestIssuer | undefined;
  let stack: Stack | undefined;
  let topics: Topics | undefined;
  let dataDir = '';
  let ports: StackPorts;

  before(async function () {
    const began = Date.now();
    const signer = await startTestIssuer();
    issuer = signer;
    ports = await freeStackPorts();
    dataDir = await tempDir('faults-data');
    stack = await startStack({
      ports,
      dataDir,
      logLevel: 'warn',
      env: Object.fromEntries(
        SERVICES.map(({ name }) => [
          name,
          {
            // The rolling restart starts each new process beside the old one, on its port.
            HTTP_REUSE_PORT: 'true',
            ...SERVICE_ENV[name],
            ...(name === 'gateway' ? signer.gatewayEnv : {}),
          },
        ]),
      ),
    });
    log(`stack started in ${((Date.now() - began) / 1000).toFixed(0)} s`);
    topics = await connectTopics([`127.0.0.1:${String(ports.kafka)}`]);
  });

  after(async function () {
    await topics?.close().catch(() => undefined);
    await stack?.stop();
    await issuer?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every accepted order, charges once, keeps stock exact, and answers cleanly', async function () {
    assert.ok(stack?.gatewayUrl && issuer && topics);
    const running = stack;
    const signer = issuer;
    const gateway = stack.gatewayUrl;
    const kafka = topics;
    const mongoUrl = `mongodb://127.0.0.1:${String(ports.mongodb)}/`;

    // SKUs inventory has opened stock for (it hears of them from catalog's events).
    const page = (await (await fetch(`${gateway}/api/products?limit=30`)).json()) as {
      items: { sku: string }[];
    };
    let initial: ReadonlyMap<string, StoredStock> = new Map();
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { stock } = await readStores(mongoUrl);
      if (page.items.filter((p) => stock.has(p.sku)).length >= SKU_COUNT) {
        initial = stock;
        break;
      }
      assert.ok(Date.now() < deadline, 'inventory opened no stock within 90 s');
      await sleep(1000);
    }
    const skus = page.items
      .map((p) => p.sku)
      .filter((sku) => initial.has(sku))
      .slice(0, SKU_COUNT);
    const tokens = await Promise.all(
      Array.from({ length: SHOPPERS }, (_, i) => signer.token(`faults-shopper-${String(i)}`)),
    );

    const records: RequestRecord[] = [];
    const accepted: AcceptedOrder[] = [];
    const steps: Step[] = [];
    const spans: GroupSpan[] = [];
    const checks: GroupCheck[] = [];
    let latest: Stores | undefined;

    /** Waits for the first checkout accepted after `since`; when it came, or NaN. */
    const firstCheckoutAfter = async (since: number): Promise<number> => {
      const until = Date.now() + RECOVERY_TIMEOUT_MS;
      while (Date.now() < until) {
        const done = records
          .filter((r) => r.kind === 'checkout' && r.status === 202)
          .map((r) => r.startedAt + r.ms)
          .filter((at) => at >= since);
        if (done.length > 0) return Math.min(...done);
        await sleep(100);
      }
      return Number.NaN;
    };

    /** Runs one fault: `act` kills, waits, and starts again, noting when the restart began. */
    const fault = async (
      label: string,
      group: Group,
      act: (step: Step) => Promise<void>,
    ): Promise<void> => {
      const step: Step = {
        fault: label,
        group,
        from: Date.now(),
        restartAt: NaN,
        recoveredAt: NaN,
      };
      steps.push(step);
      log(label);
      await act(step);
      step.recoveredAt = await firstCheckoutAfter(Date.now());
      log(`${label}: recovered in ${((step.recoveredAt - step.restartAt) / 1000).toFixed(1)} s`);
      await sleep(SETTLE_MS);
    };
    const hardKill =
      (name: ControlName, downMs: number) =>
      async (step: Step): Promise<void> => {
        const control = running.control(name);
        await control.kill('SIGKILL');
        if (downMs > 0) await sleep(downMs);
        step.restartAt = Date.now();
        await control.start();
      };
    // As a rolling update does (maxSurge 1, maxUnavailable 0): the new process first, on the
    // same port, then SIGTERM to the old one, which drains what it still serves.
    const graceful =
      (name: ControlName) =>
      async (step: Step): Promise<void> => {
        const { replace } = running.control(name);
        assert.ok(replace, `${name} cannot be replaced`);
        step.restartAt = Date.now();
        await replace();
      };

    /** Stops the load, waits for the saga to drain, and checks the stores and the DLQs. */
    const drainAndCheck = async (group: Group, mine: readonly AcceptedOrder[]): Promise<void> => {
      const stoppedAt = Date.now();
      let stores: Stores;
      let lag: number;
      for (;;) {
        stores = await readStores(mongoUrl);
        lag = await kafka.lag();
        const open = stores.orders.filter((o) => !FINAL.has(o.status)).length;
        const stored = new Set(stores.orders.map((o) => o._id));
        const missing = mine.filter((o) => !stored.has(o.orderId)).length;
        if (open === 0 && missing === 0 && stores.outboxPending === 0 && lag === 0) break;
        if (Date.now() > stoppedAt + FINAL_WITHIN_MS) break;
        await sleep(1000);
      }
      const drained = ((Date.now() - stoppedAt) / 1000).toFixed(0);
      latest = stores;
      const problems: string[] = [];
      const orders = new Map(stores.orders.map((o) => [o._id, o]));
      const final = new Set(
        mine.filter((o) => FINAL.has(orders.get(o.orderId)?.status ?? '')).map((o) => o.orderId),
      );
      // Where an unfinished order stopped: its outbox, its payment, and its events on the topics.
      const unfinished = [
        ...mine.filter((o) => !final.has(o.orderId)).map((o) => o.orderId),
        ...stores.orders
          .filter((o) => !FINAL.has(o.status) && !mine.some((m) => m.orderId === o._id))
          .map((o) => o._id),
      ];
      const events = await kafka.eventsFor(unfinished).catch(() => new Map<string, string[]>());
      const whereStopped = (id: string): string => {
        const payment = stores.payments.find((p) => p._id === id || p.orderId === id);
        const seen = events.get(id) ?? [];
        return [
          `outbox pending ${String(orders.get(id)?.outboxPending ?? 0)}`,
          `payment ${payment?.status ?? 'none'}`,
          `events: ${seen.length > 0 ? seen.join(', ') : 'none'}`,
        ].join('; ');
      };
      for (const order of mine.filter((o) => !final.has(o.orderId))) {
        const stored = orders.get(order.orderId);
        problems.push(
          `accepted order ${order.orderId} ${stored ? `still ${stored.status}` : 'not stored'} (${whereStopped(order.orderId)})`,
        );
      }
      for (const order of stores.orders.filter(
        (o) => !FINAL.has(o.status) && !mine.some((m) => m.orderId === o._id),
      )) {
        problems.push(
          `order ${order._id} (not accepted by a client) still ${order.status} (${whereStopped(order._id)})`,
        );
      }
      if (stores.outboxPending > 0) {
        problems.push(`${String(stores.outboxPending)} documents with unsent outbox events`);
      }
      if (lag > 0) problems.push(`consumer lag ${String(lag)} after the drain`);
      const payments = checkPayments(stores);
      problems.push(
        ...payments.doubleCharges.map((id) => `order ${id} charged twice or without cause`),
        ...payments.unpaid.map((id) => `paid order ${id} has no captured payment`),
        ...payments.unsettled.map((id) => `payment of ${id} still PENDING`),
      );
      const stock = checkStock(initial, stores, SWEEP_INTERVAL_MS * 3);
      problems.push(...stock.details, ...stock.overdue.map((r) => `overdue reservation ${r}`));
      for (const [topic, count] of Object.entries(await kafka.dlqRecords())) {
        if (count > 0) problems.push(`${String(count)} records in ${topic} (none was poison)`);
      }
      checks.push({ group, final, stockDrift: stock.drift, problems });
      log(`${group}: drained in ${drained} s, checked (${String(problems.length)} problems)`);
    };

    /** Runs `faults` under load, then drains and checks. */
    const group = async (name: Group, faults: (() => Promise<void>)[]): Promise<void> => {
      const first = accepted.length;
      const span: GroupSpan = { group: name, from: Date.now(), to: Infinity };
      spans.push(span);
      const load = startShoppers({
        gatewayUrl: gateway,
        tokens,
        skus,
        checkoutsPerSecond: 1,
        records,
        accepted,
      });
      try {
        await load.firstAccepted(60_000);
        for (const run of faults) await run();
      } finally {
        await load.stop();
        span.to = Date.now();
      }
      await drainAndCheck(name, accepted.slice(first));
    };

    const began = Date.now();
    try {
      await group(
        'infrastructure',
        (['kafka', 'mongodb', 'redis'] as const).map(
          (part) => () =>
            fault(
              `${part} kill -9, ${String(DOWN_MS / 1000)} s down`,
              'infrastructure',
              hardKill(part, DOWN_MS),
            ),
        ),
      );
      await group('kill -9', [
        ...SERVICES.map(
          ({ name }) =>
            () =>
              fault(`${name} kill -9`, 'kill -9', hardKill(name, 0)),
        ),
        () => fault('orders envoy kill -9', 'kill -9', hardKill('orders-envoy', 0)),
      ]);
      await group(
        'graceful',
        SERVICES.map(
          ({ name }) =>
            () =>
              fault(`${name} rolling restart`, 'graceful', graceful(name)),
        ),
      );
    } finally {
      const rows = table(steps, spans, records, accepted, checks, latest);
      process.stdout.write(`\n${formatTable(rows)}\n`);
      process.stdout.write(
        `total ${((Date.now() - began) / 1000).toFixed(0)} s; ${String(records.length)} requests\n`,
      );
      for (const check of checks) {
        for (const problem of check.problems)
          process.stdout.write(`  ${check.group}: ${problem}\n`);
      }
      for (const line of errorBreakdown(steps, spans, records)) process.stdout.write(`  ${line}\n`);
      for (const line of checkoutLatency(spans, records)) process.stdout.write(`  ${line}\n`);
    }

    // The issue's "done when": nothing lost, charged twice or drifted; clean errors only.
    const rows = table(steps, spans, records, accepted, checks, latest);
    const violations = [
      ...checks.flatMap((c) => c.problems.map((p) => `${c.group}: ${p}`)),
      ...rows.filter((r) => r.lost > 0).map((r) => `${r.fault}: ${String(r.lost)} orders lost`),
      ...rows
        .filter((r) => r.doubleCharges > 0)
        .map((r) => `${r.fault}: ${String(r.doubleCharges)} double charges`),
      ...rows
        .filter((r) => r.stockDrift > 0)
        .map((r) => `${r.fault}: stock drift ${String(r.stockDrift)}`),
      ...rows
        .filter((r, i) => steps[i]?.group === 'graceful' && r.clientErrors > 0)
        .map((r) => `${r.fault}: ${String(r.clientErrors)} failed requests in a graceful restart`),
      ...rows
        .filter((r, i) => steps[i]?.group !== 'graceful' && r.unclean > 0)
        .map((r) => `${r.fault}: ${String(r.unclean)} unclean answers`),
      ...rows
        .filter((r) => !Number.isFinite(r.recoverSeconds))
        .map((r) => `${r.fault}: never recovered`),
    ];
    assert.deepEqual(violations, []);
  });
});

/**
 * The window of the i-th step: from its fault to the next fault of its group; the first and
 * the last of a group also cover the group's load before and after them.
 */
function windowOf(
  steps: readonly Step[],
  spans: readonly GroupSpan[],
  i: number,
): (at: number) => boolean {
  const step = steps[i];
  const span = spans.find((s) => s.group === step?.group);
  if (!step || !span) return () => false;
  const next = steps[i + 1];
  const from = steps[i - 1]?.group === step.group ? step.from : span.from;
  const to = next?.group === step.group ? next.from : span.to;
  return (at) => at >= from && at < to;
}

/** The rows of the table: each step's window of requests and orders, and its group's check. */
function table(
  steps: readonly Step[],
  spans: readonly GroupSpan[],
  records: readonly RequestRecord[],
  accepted: readonly AcceptedOrder[],
  checks: readonly GroupCheck[],
  stores: Stores | undefined,
): FaultRow[] {
  const payments = stores ? checkPayments(stores) : undefined;
  const orders = new Map(stores?.orders.map((o) => [o._id, o]) ?? []);
  const paid = new Map(stores?.payments.map((p) => [p.orderId, p]) ?? []);
  const timeOf = (orderId: string): number =>
    Date.parse(orders.get(orderId)?.createdAt ?? paid.get(orderId)?.createdAt ?? '');
  return steps.map((step, i) => {
    const within = windowOf(steps, spans, i);
    // By when its answer came: a request cut off by this row's fault belongs to it.
    const sent = records.filter((r) => within(r.startedAt + r.ms));
    const errors = sent.filter(isClientError);
    const mine = accepted.filter((o) => within(o.acceptedAt));
    const check = checks.find((c) => c.group === step.group);
    const final = check ? mine.filter((o) => check.final.has(o.orderId)).length : 0;
    return {
      fault: step.fault,
      requests: sent.length,
      clientErrors: errors.length,
      unclean: sent.filter((r) => isUnclean(r, HANG_MS)).length,
      accepted: mine.length,
      final,
      lost: check ? mine.length - final : 0,
      doubleCharges: payments?.doubleCharges.filter((id) => within(timeOf(id))).length ?? 0,
      stockDrift: check?.stockDrift ?? 0,
      recoverSeconds: (step.recoveredAt - step.restartAt) / 1000,
    };
  });
}

/** What the client errors of each row were: status, problem code or detail, and how many. */
function errorBreakdown(
  steps: readonly Step[],
  spans: readonly GroupSpan[],
  records: readonly RequestRecord[],
): string[] {
  return steps.flatMap((step, i) => {
    const within = windowOf(steps, spans, i);
    const counts = new Map<string, number>();
    for (const r of records) {
      if (!within(r.startedAt + r.ms)) continue;
      if (!isClientError(r) && !isUnclean(r, HANG_MS)) continue;
      const what = `${r.kind} ${String(r.status)} ${r.code ?? r.detail ?? r.contentType}${
        r.status === 503 && r.retryAfter === null ? ' (no Retry-After)' : ''
      }${r.ms > HANG_MS ? ` (over ${String(HANG_MS)} ms)` : ''}`;
      counts.set(what, (counts.get(what) ?? 0) + 1);
    }
    return [...counts].map(([what, n]) => `${step.fault}: ${String(n)} × ${what}`);
  });
}

/** Each group's checkout latency (p50, p99, max), which shows how busy the machine was. */
function checkoutLatency(spans: readonly GroupSpan[], records: readonly RequestRecord[]): string[] {
  return spans.map((span) => {
    const ms = records
      .filter((r) => r.kind === 'checkout' && r.startedAt >= span.from && r.startedAt < span.to)
      .map((r) => r.ms)
      .sort((a, b) => a - b);
    const at = (q: number): string =>
      (ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)] ?? Number.NaN).toFixed(0);
    return `${span.group}: checkout p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
  });
}
