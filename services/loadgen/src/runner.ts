import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@emporium/platform';
import { startJourney, type Journey } from './domain/journey.js';
import {
  acceptedOrderId,
  createOrderTracker,
  type PendingOrder,
  type SettleSummary,
} from './domain/orders.js';
import { classify, type Outcome, type Step } from './domain/outcome.js';
import { createPacer, type Pacer } from './domain/pacer.js';
import type { Random } from './domain/random.js';
import { createShoppers } from './domain/shoppers.js';
import { createSummaryRecorder, type Summary } from './domain/summary.js';
import { createTokenBook, parseTokenAnswer } from './domain/tokens.js';
import type { StoreAnswer, StoreGateway } from './gateways/store.gateway.js';
import type { LoadgenMetrics } from './loadgen.metrics.js';

/** Options of {@link createRunner}. */
export interface RunnerOptions {
  /** Requests per second across all shoppers. */
  rps: number;
  /** Most requests in flight (and journeys open); capped by the number of users. */
  concurrency: number;
  users: readonly string[];
  checkoutRatio: number;
  /** The share of journeys that search (default 0.5). */
  searchRatio?: number;
  store: StoreGateway;
  metrics: LoadgenMetrics;
  logger: Logger;
  /** A monotonic clock in ms; performance.now by default. */
  now?: () => number;
  /** Math.random by default; a seeded one makes the choices repeatable. */
  random?: Random;
}

/** Options of {@link Runner.settle}. */
export interface SettleOptions {
  /** How long after the last checkout every order may take to become final; 0 skips. */
  limitMs: number;
  /** From the start of one pass over the orders not final to the next (default 2000). */
  intervalMs?: number;
  /** Orders read back at once (default 4), so checking does not add a load of its own. */
  concurrency?: number;
  /** Aborting it (SIGTERM) ends the settle phase after the reads in flight. */
  signal?: AbortSignal;
}

/** The synthetic shoppers at work. */
export interface Runner {
  /** Starts sending; the first request goes at once. */
  start(): void;
  /** Stops sending, waits for the requests in flight, and resolves with the summary. */
  stop(): Promise<Summary>;
  /**
   * The settle phase, once, after the load: stops the run if needed, then reads back every order
   * not yet seen final, pass after pass, until all are final or `limitMs` after the last
   * checkout has passed.
   */
  settle(options: SettleOptions): Promise<Summary>;
  /** The summary so far (final once stopped and settled). */
  summary(): Summary;
}

/** A short description of a non-ok answer for the log. */
function describe(answer: StoreAnswer): string {
  if (answer.status === 0) return `no answer (${answer.failure ?? 'network'})`;
  return `HTTP ${String(answer.status)}${answer.code ? ` ${answer.code}` : ''}`;
}

/**
 * Creates the runner: the pacer's ticks become journey steps. On each tick the pacer admits a
 * request if a slot is free; the step sent is the next one of a journey waiting for its turn,
 * or the first of a new journey for a free user. A step that needs a token the shopper does not
 * hold (or that is about to expire) sends the token request in its place.
 */
export function createRunner(options: RunnerOptions): Runner {
  const { store, metrics, logger } = options;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  // A user is in one journey at a time, so more slots than users could never be filled.
  const concurrency = Math.max(1, Math.min(options.concurrency, options.users.length));
  if (concurrency < options.concurrency) {
    logger.warn(
      { concurrency: options.concurrency, users: options.users.length },
      'concurrency capped at the number of users: each user shops one journey at a time',
    );
  }
  const tokens = createTokenBook();
  const recorder = createSummaryRecorder({ random });
  const tracker = createOrderTracker({ random });
  let settleState: SettleSummary = {
    state: 'waiting',
    limitMs: 0,
    elapsedSeconds: 0,
    rounds: 0,
    reads: 0,
    failedReads: 0,
  };
  let settleStartedMs: number | undefined;
  let catalogTotal: number | undefined;
  const shoppers = createShoppers({
    users: options.users,
    startJourney: (user) =>
      startJourney({
        user,
        random,
        checkoutRatio: options.checkoutRatio,
        ...(options.searchRatio === undefined ? {} : { searchRatio: options.searchRatio }),
        catalogTotal,
      }),
  });
  const inFlight = new Set<Promise<void>>();
  const warned = new Set<string>();
  let startedAt = new Date().toISOString();
  let startedAtMs = now();
  let pacer: Pacer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stoppedAtMs: number | undefined;
  let stopping: Promise<Summary> | undefined;
  let settling: Promise<Summary> | undefined;

  /** Logs the first answer of each kind that is not ok; the rest are only counted. */
  const warnOnce = (step: Step, outcome: Outcome, answer: StoreAnswer): void => {
    if (outcome === 'ok' || outcome === 'business') return;
    const key = `${step} ${String(answer.status)} ${answer.failure ?? ''}`;
    if (warned.has(key)) return;
    warned.add(key);
    const hint =
      step === 'token' && answer.status === 400
        ? ': the issuer refused the user name (the gateway dev issuer takes lower-case names of a-z, 0-9 and -)'
        : '';
    logger.warn(
      { step, status: answer.status, code: answer.code, failure: answer.failure },
      `${step}: ${describe(answer)}${hint}; further ones are only counted`,
    );
  };

  /** Sends one request, timing it and counting it in the summary and the metrics. */
  const measure = async (
    step: Step,
    send: () => Promise<StoreAnswer>,
  ): Promise<{ answer: StoreAnswer; outcome: Outcome }> => {
    const began = now();
    const answer = await send();
    const latencyMs = now() - began;
    const outcome = classify(step, answer.status);
    const code =
      outcome === 'business' ? (answer.code ?? `HTTP_${String(answer.status)}`) : undefined;
    recorder.request(step, outcome, latencyMs, code);
    metrics.requests.inc({ step, outcome });
    metrics.duration.observe({ labels: { step }, value: latencyMs / 1000 });
    warnOnce(step, outcome, answer);
    return { answer, outcome };
  };

  /** Sends the journey's next step (or the token it needs first). */
  const advance = async (journey: Journey): Promise<void> => {
    const request = journey.next();
    if (!request) return;
    const { user } = journey;
    const token = request.auth ? tokens.get(user, now()) : undefined;
    if (request.auth && token === undefined) {
      const { answer, outcome } = await measure('token', () => store.token(user));
      const issued = outcome === 'ok' ? parseTokenAnswer(answer.body) : undefined;
      if (issued) tokens.put(user, issued.token, issued.expiresInSeconds, now());
      else journey.fail(outcome === 'rate_limited' ? 'rate_limited' : 'failed');
      // The step itself waits for the journey's next turn: the token took this tick.
      return;
    }
    const { answer, outcome } = await measure(request.step, () => store.send(request, token));
    // A refused token (expired early, or a gateway restarted with a new key) is fetched anew.
    if (answer.status === 401) tokens.forget(user);
    if (request.step === 'checkout' && outcome === 'ok') {
      recorder.orderPlaced();
      metrics.ordersPlaced.inc();
      const orderId = acceptedOrderId(answer.body);
      if (orderId !== undefined) tracker.placed(orderId, user, now());
    }
    // The journey's own read-back may already find the order final: one read fewer later.
    if (request.step === 'order-status' && outcome === 'ok') tracker.observe(answer.body);
    journey.record({ status: answer.status, outcome, body: answer.body });
    catalogTotal = journey.catalogTotal() ?? catalogTotal;
  };

  const dispatch = (active: Pacer, journey: Journey): void => {
    metrics.inFlight.set(active.stats().inFlight);
    const work: Promise<void> = advance(journey)
      .catch((error: unknown) => {
        logger.error({ err: error, user: journey.user }, 'journey step failed unexpectedly');
        journey.fail('failed');
      })
      .finally(() => {
        const ended = shoppers.settle(journey);
        if (ended) {
          recorder.journey(ended);
          metrics.journeys.inc({ outcome: ended });
        }
        active.release();
        metrics.inFlight.set(active.stats().inFlight);
        inFlight.delete(work);
      });
    inFlight.add(work);
  };

  /** Sends the ticks that are due, then sleeps until the next one. */
  const pump = (): void => {
    timer = undefined;
    const active = pacer;
    if (!active || stoppedAtMs !== undefined) return;
    const droppedBefore = active.stats().dropped;
    const due = active.due(now());
    for (let i = 0; i < due; i++) {
      if (!active.admit()) continue;
      const journey = shoppers.take();
      if (journey) dispatch(active, journey);
      else active.cancel();
    }
    const dropped = active.stats().dropped - droppedBefore;
    if (dropped > 0) metrics.dropped.inc(dropped);
    timer = setTimeout(pump, Math.max(0, active.nextTickAt() - now()));
  };

  const summary = (): Summary =>
    recorder.snapshot({
      startedAt,
      running: pacer !== undefined && stoppedAtMs === undefined,
      elapsedMs: pacer ? (stoppedAtMs ?? now()) - startedAtMs : 0,
      targetRps: options.rps,
      concurrency,
      dropped: pacer?.stats().dropped ?? 0,
      inProgress: shoppers.open(),
      orders: tracker.summary(
        settleState.state === 'running' && settleStartedMs !== undefined
          ? { ...settleState, elapsedSeconds: Math.round(now() - settleStartedMs) / 1000 }
          : settleState,
      ),
    });

  /** Reads one order back with its shopper's token (fetched anew when needed). */
  const readBack = async (order: PendingOrder): Promise<void> => {
    settleState.reads++;
    let token = tokens.get(order.user, now());
    let answer: StoreAnswer | undefined;
    if (token === undefined) {
      answer = await store.token(order.user);
      const issued = answer.status === 200 ? parseTokenAnswer(answer.body) : undefined;
      if (issued) {
        tokens.put(order.user, issued.token, issued.expiresInSeconds, now());
        token = issued.token;
      }
    }
    if (token !== undefined) {
      const path = `/api/orders/${encodeURIComponent(order.orderId)}`;
      answer = await store.send({ step: 'order-status', method: 'GET', path, auth: true }, token);
      if (answer.status === 401) tokens.forget(order.user);
      if (answer.status === 200) {
        tracker.observe(answer.body);
        return;
      }
      if (answer.status === 404) {
        tracker.missing(order.orderId);
        return;
      }
    }
    settleState.failedReads++;
    if (settleState.failedReads === 1 && answer) {
      logger.warn(
        { orderId: order.orderId, status: answer.status, failure: answer.failure },
        `settle: reading an order back failed: ${describe(answer)}; further ones are only counted`,
      );
    }
  };

  /** One pass: reads `orders` back, `width` at a time, until done or aborted. */
  const pass = async (
    orders: readonly PendingOrder[],
    width: number,
    signal: AbortSignal | undefined,
  ): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (signal?.aborted !== true && next < orders.length) {
        const order = orders[next++];
        if (order) await readBack(order);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, orders.length) }, worker));
  };

  const stop = (): Promise<Summary> => {
    stopping ??= (async () => {
      stoppedAtMs ??= now();
      clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
      return summary();
    })();
    return stopping;
  };

  /** The settle phase itself, run once; see {@link Runner.settle}. */
  const settleOnce = async ({
    limitMs,
    intervalMs = 2000,
    concurrency: width = 4,
    signal,
  }: SettleOptions): Promise<Summary> => {
    // A function, not a value: the signal may fire during any await below.
    const aborted = (): boolean => signal?.aborted === true;
    // Orders whose checkout is still in flight must be known before the first pass.
    await stop();
    if (limitMs <= 0 || aborted()) {
      settleState = { ...settleState, state: 'skipped', limitMs: Math.max(0, limitMs) };
      return summary();
    }
    const began = now();
    settleStartedMs = began;
    settleState = { ...settleState, state: 'running', limitMs };
    // The goal is about each order's own age, so the limit runs from the last checkout, not
    // from the end of the load (which may have come long after it).
    const deadline = (tracker.lastPlacedAtMs() ?? began) + limitMs;
    for (;;) {
      const due = tracker.pending();
      if (due.length === 0 || aborted()) break;
      const roundStarted = now();
      settleState.rounds++;
      await pass(due, Math.max(1, width), signal);
      if (tracker.pending().length === 0 || now() >= deadline) break;
      // The last pass falls at the deadline itself, so an order final just in time counts.
      const wait = Math.min(deadline, roundStarted + intervalMs) - now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
    settleState = {
      ...settleState,
      state: aborted() ? 'interrupted' : 'done',
      elapsedSeconds: Math.round(now() - began) / 1000,
    };
    return summary();
  };

  return {
    start() {
      if (pacer) return;
      startedAt = new Date().toISOString();
      startedAtMs = now();
      pacer = createPacer({ rps: options.rps, concurrency, startMs: startedAtMs });
      metrics.inFlight.set(0);
      pump();
    },
    stop,
    settle(settleOptions) {
      // Once per run: a second call (SIGTERM during a finite run's settle) waits for the first.
      settling ??= settleOnce(settleOptions);
      return settling;
    },
    summary,
  };
}
