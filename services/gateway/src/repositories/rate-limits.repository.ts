import { createRateLimiter, type RateLimitDecision } from '@emporium/platform';
import type { Redis } from 'ioredis';

/** Bucket sizes and refill rates of the two limits. */
export interface RateLimitSettings {
  userCapacity: number;
  userRefillPerSecond: number;
  ipCapacity: number;
  ipRefillPerSecond: number;
  /** The browser-span exports' own per-IP bucket (POST /otlp/v1/traces). */
  tracesCapacity?: number;
  tracesRefillPerSecond?: number;
}

/** The gateway's token buckets in Redis: one per signed-in user, one per client IP. */
export interface RateLimitsRepository {
  /** Takes a token from the user's bucket; rejects when Redis fails. */
  takeForUser(userId: string): Promise<RateLimitDecision>;
  /** Takes a token from the IP's bucket; rejects when Redis fails. */
  takeForIp(ip: string): Promise<RateLimitDecision>;
  /** Takes a token from the IP's bucket of browser-span exports; rejects when Redis fails. */
  takeForTraces(ip: string): Promise<RateLimitDecision>;
}

/**
 * Creates the repository; buckets are `ratelimit:gateway-user:<sub>`, `ratelimit:gateway-ip:<ip>`
 * and `ratelimit:gateway-traces:<ip>`.
 */
export function rateLimitsRepository(
  redis: Redis,
  settings: RateLimitSettings,
): RateLimitsRepository {
  const users = createRateLimiter({
    redis,
    name: 'gateway-user',
    capacity: settings.userCapacity,
    refillPerSecond: settings.userRefillPerSecond,
  });
  const ips = createRateLimiter({
    redis,
    name: 'gateway-ip',
    capacity: settings.ipCapacity,
    refillPerSecond: settings.ipRefillPerSecond,
  });
  const traces = createRateLimiter({
    redis,
    name: 'gateway-traces',
    capacity: settings.tracesCapacity ?? 30,
    refillPerSecond: settings.tracesRefillPerSecond ?? 1,
  });
  return {
    takeForUser: (userId) => users.take(userId),
    takeForIp: (ip) => ips.take(ip),
    takeForTraces: (ip) => traces.take(ip),
  };
}
