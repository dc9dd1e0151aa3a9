import type { Redis } from 'ioredis';

/**
 * A token bucket per key, stored as a hash {tokens, ts} and updated by one Lua script, so
 * concurrent takes from any number of replicas cannot overspend it.
 *
 * KEYS[1] the bucket; ARGV[1] capacity (tokens); ARGV[2] refill rate (tokens per second);
 * ARGV[3] cost (tokens). Returns {allowed (0|1), tokens left, seconds until `cost` tokens are
 * there}; the last two as strings, because Redis truncates Lua numbers to integers.
 *
 * The clock is Redis' own TIME (seconds + microseconds), not the callers': replicas' clocks
 * drift, the server's is one. Redis 5+ replicates a script's effects rather than the script, so
 * a non-deterministic TIME before a write is allowed (ElastiCache and Redis 7 both qualify).
 */
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
-- Microseconds since the epoch (about 1.8e15) are exact in a Lua double (below 2^53).
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  -- A new (or expired) bucket starts full.
  tokens = capacity
  ts = now
end

-- Refill for the time since the last take, never above capacity; a clock step back adds nothing.
local elapsed = math.max(0, now - ts)
tokens = math.min(capacity, tokens + elapsed * rate / 1000000)

local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = (cost - tokens) / rate
end

redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
-- Idle expiry: once the bucket would be full again it equals a new one, so drop it then
-- (plus a second of slack).
local full_in_ms = math.ceil((capacity - tokens) / rate * 1000)
redis.call('PEXPIRE', KEYS[1], full_in_ms + 1000)

return {allowed, tostring(tokens), tostring(wait)}
`;

/** The name the script is registered under on the ioredis client. */
const COMMAND = 'emporiumTokenBucket';

/** The client once the script is defined on it. */
type TokenBucketClient = Redis & {
  [COMMAND]: (
    key: string,
    capacity: number,
    refillPerSecond: number,
    cost: number,
  ) => Promise<[number, string, string]>;
};

/** Defines the script once per client (ioredis runs it by EVALSHA, loading it when missing). */
function withTokenBucket(redis: Redis): TokenBucketClient {
  if (!(COMMAND in redis)) {
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  }
  return redis as TokenBucketClient;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  redis: Redis;
  /** Part of every key (`ratelimit:<name>:<key>`), e.g. `gateway-orders`. */
  name: string;
  /** Bucket size: the burst allowed after idling, in tokens. */
  capacity: number;
  /** Sustained rate, in tokens per second (fractions allowed: 0.5 = one every 2 s). */
  refillPerSecond: number;
}

/** The answer to one {@link RateLimiter.take}. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** Seconds until this take would succeed; 0 when allowed. Fractional: round up for Retry-After. */
  retryAfterSeconds: number;
}

/** A distributed token-bucket rate limiter. */
export interface RateLimiter {
  /** Takes `cost` tokens from the key's bucket if it has them. Rejects if Redis fails. */
  take(key: string, cost?: number): Promise<RateLimitDecision>;
}

/** Creates a token-bucket rate limiter whose buckets live in Redis and expire when idle. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { capacity, refillPerSecond, name } = options;
  if (!(capacity > 0) || !Number.isFinite(capacity)) {
    throw new RangeError(`capacity must be a positive number, got ${String(capacity)}`);
  }
  if (!(refillPerSecond > 0) || !Number.isFinite(refillPerSecond)) {
    throw new RangeError(`refillPerSecond must be positive, got ${String(refillPerSecond)}`);
  }
  const redis = withTokenBucket(options.redis);
  return {
    take: async (key, cost = 1) => {
      if (!(cost > 0) || cost > capacity) {
        // More than the bucket holds could never be allowed; that is the caller's bug.
        throw new RangeError(`cost must be in (0, ${String(capacity)}], got ${String(cost)}`);
      }
      const [allowed, tokens, wait] = await redis[COMMAND](
        `ratelimit:${name}:${key}`,
        capacity,
        refillPerSecond,
        cost,
      );
      return {
        allowed: allowed === 1,
        remaining: Math.floor(Number(tokens)),
        retryAfterSeconds: allowed === 1 ? 0 : Number(wait),
      };
    },
  };
}
