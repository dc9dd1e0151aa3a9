import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@emporium/platform';
import type { InventoryMetrics } from '../inventory.metrics.js';
import type { ReservationsRepository } from '../repositories/reservations.repository.js';

/** What one sweep did. */
export interface SweepResult {
  /** Reservations this sweep moved to EXPIRED (their units given back). */
  expired: number;
  /** EXPIRED ones whose interrupted give-back this sweep finished. */
  finished: number;
  /** Candidates a confirm or a settle got to first. */
  skipped: number;
}

/** Options of {@link createExpirySweeper}. */
export interface ExpirySweeperOptions {
  reservations: ReservationsRepository;
  /** Pause between sweeps (RESERVATION_SWEEP_INTERVAL_MS). */
  intervalMs: number;
  /** Reservations looked at per query; a full batch is followed at once by the next. */
  batchSize?: number;
  metrics: InventoryMetrics;
  logger: Logger;
  /** Checked before each reservation: a replica that lost its lease stops mid-sweep. */
  isLeader?: () => boolean;
}

/** The periodic expiry of reservations whose order never arrived; run by the leader only. */
export interface ExpirySweeper {
  /** Starts sweeping every interval (the first sweep at once); no-op when running. */
  start(): void;
  /** Stops after the reservation in hand; resolves once no sweep is running. */
  stop(): Promise<void>;
  /** One sweep now (tests; start() calls it). */
  sweep(): Promise<SweepResult>;
}

/** Creates the sweeper; the expiry itself (conditional status move, then units) is the repository's. */
export function createExpirySweeper(options: ExpirySweeperOptions): ExpirySweeper {
  const { reservations, metrics, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const isLeader = options.isLeader ?? (() => true);
  let loop: Promise<void> | undefined;
  let stopping: AbortController | undefined;

  const sweepOnce = async (signal?: AbortSignal): Promise<SweepResult> => {
    const result: SweepResult = { expired: 0, finished: 0, skipped: 0 };
    for (;;) {
      const candidates = await reservations.findExpired(batchSize);
      let acted = 0;
      for (const candidate of candidates) {
        if (!isLeader() || signal?.aborted) return result;
        // With the entry's time, so the repository can take it off the work list (or move it
        // to when the reservation can next expire) without touching a newer attempt's entry.
        const outcome = await reservations.expire(candidate.orderId, candidate.expiresAt);
        if (outcome === 'expired') {
          metrics.expired.inc();
          logger.info(
            { orderId: candidate.orderId, expiresAt: candidate.expiresAt },
            'reservation expired: its order never arrived, units given back',
          );
        }
        result[outcome === 'expired' ? 'expired' : outcome]++;
        if (outcome !== 'skipped') acted++;
      }
      // A full batch where something moved may have more behind it; otherwise wait. (Skipped
      // entries have left the due list too, so the next sweep never sees the same ones.)
      if (candidates.length < batchSize || acted === 0) return result;
    }
  };

  const run = async (signal: AbortSignal): Promise<void> => {
    while (!signal.aborted) {
      try {
        const result = await sweepOnce(signal);
        metrics.sweeps.inc({ outcome: 'ok' });
        if (result.expired + result.finished > 0) logger.info(result, 'reservation sweep done');
      } catch (err) {
        // The next round retries; /readyz reports a MongoDB outage on its own.
        metrics.sweeps.inc({ outcome: 'failed' });
        logger.warn({ err }, 'reservation sweep failed');
      }
      await sleep(options.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  };

  return {
    start: () => {
      if (loop) return;
      stopping = new AbortController();
      const current = run(stopping.signal);
      loop = current;
      logger.info({ intervalMs: options.intervalMs }, 'reservation sweeper started');
    },
    stop: async () => {
      const current = loop;
      if (!current) return;
      stopping?.abort();
      await current;
      if (loop === current) loop = undefined;
      logger.info('reservation sweeper stopped');
    },
    sweep: () => sweepOnce(),
  };
}
