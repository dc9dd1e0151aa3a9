import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { AppError, PlatformErrorCode } from '../errors.js';
import type { Metrics } from '../telemetry/metrics.js';

/**
 * One fault rule. `target` names what it applies to: `route:<METHOD> <route template>` (e.g.
 * `route:POST /orders`) or `handler:<name>` (an event handler, e.g. `handler:payments.v1`);
 * a trailing `*` matches any suffix (`route:GET *`). Latency is added first, then the request
 * fails with probability `errorRate`.
 */
export const faultRuleSchema = z.object({
  target: z
    .string()
    .regex(/^(route|handler):\S.*$/, 'expected route:<METHOD> <path> or handler:<name>'),
  /** Added delay in ms. */
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  /** Probability 0–1 that the call fails after the delay. */
  errorRate: z.number().min(0).max(1).default(0),
  /** The status of an injected failure. */
  status: z.union([z.literal(500), z.literal(503), z.literal(504)]).default(503),
});

/** A parsed fault rule. */
export type FaultRule = z.output<typeof faultRuleSchema>;

/** The FAULTS variable: a JSON array of rules, validated (so a typo fails the start). */
export const faultsVar = () =>
  z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a JSON array of fault rules' });
        return z.NEVER;
      }
    })
    .pipe(z.array(faultRuleSchema));

/** Options of {@link createFaults}. */
export interface FaultOptions {
  metrics?: Metrics;
  /** 0 ≤ x < 1; tests make it deterministic. */
  random?: () => number;
}

/** Fault injection for routes and event handlers; with no rules every call is a no-op. */
export interface Faults {
  readonly rules: readonly FaultRule[];
  /** Applies the rules matching `target`: waits, then maybe throws a FAULT_INJECTED AppError. */
  inject(target: string): Promise<void>;
  /** Wraps a function so each call goes through {@link Faults.inject} first. */
  wrap<A extends unknown[], R>(
    target: string,
    fn: (...args: A) => Promise<R>,
  ): (...args: A) => Promise<R>;
}

function matches(rule: FaultRule, target: string): boolean {
  return rule.target.endsWith('*')
    ? target.startsWith(rule.target.slice(0, -1))
    : rule.target === target;
}

/** Creates the fault injector from the FAULTS rules (off by default: no rules). */
export function createFaults(rules: readonly FaultRule[], options: FaultOptions = {}): Faults {
  const random = options.random ?? Math.random;
  const injected = options.metrics?.counter({
    name: 'faults_injected_total',
    help: 'Faults injected by operator-configured rules, by target and kind (latency or error).',
    labelNames: ['target', 'kind'] as const,
  });
  const inject = async (target: string): Promise<void> => {
    for (const rule of rules) {
      if (!matches(rule, target)) continue;
      if (rule.latencyMs > 0) {
        injected?.inc({ target: rule.target, kind: 'latency' });
        await sleep(rule.latencyMs);
      }
      if (rule.errorRate > 0 && random() < rule.errorRate) {
        injected?.inc({ target: rule.target, kind: 'error' });
        throw new AppError(
          PlatformErrorCode.FAULT_INJECTED,
          rule.status,
          `Fault injected for ${target}.`,
          {
            headers: rule.status === 503 ? { 'retry-after': '1' } : {},
          },
        );
      }
    }
  };
  return {
    rules,
    inject: rules.length === 0 ? () => Promise.resolve() : inject,
    wrap:
      (target, fn) =>
      async (...args) => {
        await inject(target);
        return fn(...args);
      },
  };
}
