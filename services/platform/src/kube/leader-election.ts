import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  KubeConfig,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
  V1Lease,
  V1LeaseSpec,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { Metrics } from '../telemetry/metrics.js';
import { kubeClient } from './kube-client.js';

// Hand-written: @kubernetes/client-node 2.0.1 (the current release) ships no leader-election
// helper (only the generated CoordinationV1Api), so this follows client-go's
// tools/leaderelection algorithm over a coordination.k8s.io/v1 Lease.

/** client-go's defaults: a lease lasts 15 s, the leader gives up after 10 s of failed renewals. */
export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/** Timing of an election; renewDeadline < leaseDuration and retryPeriod < renewDeadline. */
export interface LeaderElectionTimings {
  /** How long others wait, from when they last saw the lease change, before taking it over. */
  leaseDurationMs: number;
  /** The leader steps down when no renewal succeeded for this long (sent-time based). */
  renewDeadlineMs: number;
  /** Between two attempts to acquire or renew. */
  retryPeriodMs: number;
}

/** Options of {@link startLeaderElection}. */
export interface LeaderElectionOptions extends Partial<LeaderElectionTimings> {
  /** The Lease's name, e.g. `inventory-sweeper`. */
  lease: string;
  namespace: string;
  /** This replica's holder identity (unique among the candidates), e.g. the pod's name. */
  identity: string;
  /** Where the API server is; see {@link loadKubeConfig}. */
  kubeConfig: KubeConfig;
  /** Called when this replica becomes the leader. */
  onStartedLeading?: () => void | Promise<void>;
  /** Called when it stops leading (lost lease, renew failure or stop()); awaited before release. */
  onStoppedLeading?: () => void | Promise<void>;
  logger: Logger;
  /** Registry for `leader_election_is_leader{lease}`. */
  metrics?: Metrics;
}

/** A running election; see {@link startLeaderElection}. */
export interface LeaderElection {
  /** True while this replica holds the lease and its last renewal is within the renew deadline. */
  isLeader(): boolean;
  /** Stops campaigning; a leader runs onStoppedLeading, then releases the lease for the others. */
  stop(): Promise<void>;
}

/** `leader_election_is_leader{lease}`: 1 while this replica leads, else 0. */
export function isLeaderGauge(metrics: Metrics): Gauge<'lease'> {
  return metrics.gauge<'lease'>({
    name: 'leader_election_is_leader',
    help: 'Whether this replica holds the lease (1) or not (0).',
    labelNames: ['lease'],
  });
}

/** The Kubernetes API status of a failed call, when it is one. */
function statusOf(err: unknown): number | undefined {
  return err instanceof kubeClient().ApiException ? err.code : undefined;
}

/** Validates timings the way client-go's NewLeaderElector does. */
export function checkTimings(timings: LeaderElectionTimings): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timings;
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new RangeError('leader election: the lease duration must exceed the renew deadline');
  }
  if (!(renewDeadlineMs > retryPeriodMs * 1.2)) {
    throw new RangeError('leader election: the renew deadline must exceed 1.2 × the retry period');
  }
  if (retryPeriodMs < 1 || leaseDurationMs < 1000) {
    throw new RangeError('leader election: the lease duration must be at least 1 s');
  }
}

/**
 * Campaigns for a Lease and keeps it while leading, the client-go way:
 *
 * - a candidate takes the lease when it is free (no holder: released) or when its record has not
 *   changed for `leaseDurationMs` by the candidate's own monotonic clock (so clock skew between
 *   nodes does not matter, only clock rate);
 * - every write carries the resourceVersion read, so of two candidates one gets 409 and loses;
 * - the leader renews every `retryPeriodMs` and steps down as soon as `renewDeadlineMs` has
 *   passed since the send time of its last successful renewal, before any other candidate can
 *   see the lease as expired (at least `leaseDurationMs` after that send);
 * - stop() runs onStoppedLeading, then clears the holder, so another candidate takes over at its
 *   next retry instead of waiting out the lease.
 */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const timings: LeaderElectionTimings = {
    leaseDurationMs: options.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
  };
  checkTimings(timings);
  const { lease: name, namespace, identity } = options;
  const logger = options.logger.child({ lease: name, identity });
  const { CoordinationV1Api, Observable, V1Lease, V1LeaseSpec, V1MicroTime, V1ObjectMeta } =
    kubeClient();
  const api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const gauge = options.metrics && isLeaderGauge(options.metrics);
  gauge?.set({ lease: name }, 0);
  const leaseSeconds = Math.max(1, Math.ceil(timings.leaseDurationMs / 1000));
  const mono = (): number => performance.now();
  const stopping = new AbortController();

  const state = {
    leading: false,
    /** Monotonic time the last successful acquire or renew was sent. */
    renewedSentAt: -Infinity,
  };
  /** The lease record last seen (its resourceVersion) and when, by the monotonic clock. */
  let observed: { version: string; at: number } | undefined;
  let stepDownTimer: NodeJS.Timeout | undefined;
  // Callbacks run one after another, so a quick re-election never overlaps a stopping leader.
  let callbacks: Promise<void> = Promise.resolve();

  const runCallback = (label: string, callback?: () => void | Promise<void>): void => {
    if (!callback) return;
    callbacks = callbacks.then(async () => {
      try {
        await callback();
      } catch (err) {
        logger.error({ err }, `leader election: ${label} failed`);
      }
    });
  };

  const stepDown = (reason: string): void => {
    if (!state.leading) return;
    state.leading = false;
    clearTimeout(stepDownTimer);
    gauge?.set({ lease: name }, 0);
    // Stepping down for any reason but stop() means the lease could not be kept: worth a warning.
    logger[reason === 'stopped' ? 'info' : 'warn']({ reason }, 'stopped leading');
    runCallback('onStoppedLeading', options.onStoppedLeading);
  };

  const renewed = (sentAt: number): void => {
    state.renewedSentAt = sentAt;
    clearTimeout(stepDownTimer);
    // A timer, not the loop: a hung request must not keep this replica leading.
    stepDownTimer = setTimeout(
      () => {
        stepDown('renew deadline passed');
      },
      Math.max(0, sentAt + timings.renewDeadlineMs - mono()),
    );
    stepDownTimer.unref();
    if (!state.leading) {
      state.leading = true;
      gauge?.set({ lease: name }, 1);
      logger.info('started leading');
      runCallback('onStartedLeading', options.onStartedLeading);
    }
  };

  /** Per-request options: aborted by the time left for this attempt, and by stop() if `abortable`. */
  const requestOptions = (timeoutMs: number, abortable = true) => {
    // AbortSignal.timeout takes whole milliseconds only.
    const timeout = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)));
    const signal = abortable ? AbortSignal.any([stopping.signal, timeout]) : timeout;
    const middleware: ObservableMiddleware = {
      pre: (context: RequestContext) => {
        context.setSignal(signal);
        return new Observable(Promise.resolve(context));
      },
      post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' as const };
  };

  // The generated models are classes; the serializer only reads their fields.
  const leaseOf = (previous: V1Lease | undefined, spec: V1LeaseSpec): V1Lease =>
    Object.assign(new V1Lease(), {
      // Keeps resourceVersion: a replace then succeeds only if nobody wrote since the read.
      metadata: Object.assign(new V1ObjectMeta(), previous?.metadata, { name, namespace }),
      spec,
    });

  const heldSpec = (previous: V1Lease | undefined, now: Date): V1LeaseSpec => {
    const before = previous?.spec;
    const mine = before?.holderIdentity === identity;
    return Object.assign(new V1LeaseSpec(), {
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: mine && before.acquireTime ? before.acquireTime : new V1MicroTime(now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: (before?.leaseTransitions ?? 0) + (mine || !before ? 0 : 1),
    });
  };

  /** One attempt; true when this replica holds the lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const sentAt = mono();
    const timeoutMs = state.leading
      ? state.renewedSentAt + timings.renewDeadlineMs - sentAt
      : timings.renewDeadlineMs;
    let current: V1Lease | undefined;
    try {
      current = await api.readNamespacedLease({ name, namespace }, requestOptions(timeoutMs));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    const now = new Date();
    if (!current) {
      try {
        await api.createNamespacedLease(
          { namespace, body: leaseOf(undefined, heldSpec(undefined, now)) },
          requestOptions(timeoutMs),
        );
      } catch (err) {
        if (statusOf(err) === 409) return false; // another candidate created it first
        throw err;
      }
      renewed(sentAt);
      return true;
    }
    const holder = current.spec?.holderIdentity ?? '';
    const version = current.metadata?.resourceVersion ?? '';
    if (observed?.version !== version) observed = { version, at: mono() };
    if (holder !== '' && holder !== identity) {
      if (state.leading) stepDown(`the lease is held by ${holder}`);
      const durationMs = (current.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
      if (mono() < observed.at + durationMs) return false;
      logger.info({ previous: holder }, 'the lease expired; taking it over');
    }
    try {
      await api.replaceNamespacedLease(
        {
          name,
          namespace,
          // resourceVersion makes this a compare-and-swap: 409 when the lease changed since.
          body: leaseOf(current, heldSpec(current, now)),
        },
        requestOptions(timeoutMs),
      );
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
    renewed(sentAt);
    return true;
  };

  const release = async (): Promise<void> => {
    const current = await api.readNamespacedLease(
      { name, namespace },
      requestOptions(timings.renewDeadlineMs, false),
    );
    if (current.spec?.holderIdentity !== identity) return;
    const now = new V1MicroTime(new Date());
    await api.replaceNamespacedLease(
      {
        name,
        namespace,
        // As client-go's release: no holder, so the next candidate takes it at once.
        body: leaseOf(
          current,
          Object.assign(new V1LeaseSpec(), current.spec, {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          }),
        ),
      },
      requestOptions(timings.renewDeadlineMs, false),
    );
    logger.info('released the lease');
  };

  const isStopping = (): boolean => stopping.signal.aborted;
  const loop = (async () => {
    while (!isStopping()) {
      try {
        const held = await tryAcquireOrRenew();
        if (!held && state.leading && mono() - state.renewedSentAt >= timings.renewDeadlineMs) {
          stepDown('could not renew the lease in time');
        }
      } catch (err) {
        if (isStopping()) break;
        logger.warn({ err }, 'leader election attempt failed');
      }
      // Candidates jitter their retries (client-go's 1.2 factor) so they do not collide forever.
      const period = state.leading
        ? timings.retryPeriodMs
        : timings.retryPeriodMs * (1 + Math.random() * 0.2);
      await sleep(period, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    isLeader: () => state.leading && mono() - state.renewedSentAt < timings.renewDeadlineMs,
    stop: () =>
      (stopped ??= (async () => {
        const wasLeading = state.leading && mono() - state.renewedSentAt < timings.renewDeadlineMs;
        stopping.abort();
        await loop;
        // Abort leaves the state as it was; step down explicitly so the callback runs first.
        stepDown('stopped');
        await callbacks;
        if (wasLeading) {
          await release().catch((err: unknown) => {
            logger.warn({ err }, 'could not release the lease; others take over when it expires');
          });
        }
      })()),
  };
}
