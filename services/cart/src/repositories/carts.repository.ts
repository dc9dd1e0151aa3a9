import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sku } from '@emporium/contracts';
import { errors, type Metrics } from '@emporium/platform';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { EMPTY_CART, type Cart, type CartLine } from '../domain/cart.js';
import { cartBusy } from '../errors.js';

/**
 * Compare-and-set of a whole cart: writes only when the cart's revision is still the one the
 * caller read, so two concurrent writes can never lose each other's lines (the loser re-reads
 * and re-applies its change). A Lua script rather than WATCH/MULTI because WATCH belongs to a
 * connection and ioredis multiplexes every request over one; one key, so it also runs on a
 * clustered ElastiCache.
 *
 * KEYS[1] the cart hash; ARGV[1] the expected revision ('' for a cart that does not exist);
 * ARGV[2] the TTL in seconds; ARGV[3..] field, value pairs of the whole new cart.
 * Returns 1 when written, 0 when the cart changed since it was read.
 */
const COMPARE_AND_SET_LUA = `
local current = redis.call('HGET', KEYS[1], 'rev') or ''
if current ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** The name the script is registered under on the ioredis client. */
const COMMAND = 'emporiumCartCompareAndSet';

/** The client once the script is defined on it. */
type CartClient = Redis & {
  [COMMAND]: (key: string, expected: string, ttl: number, ...fields: string[]) => Promise<number>;
};

/** Defines the script once per client (ioredis runs it by EVALSHA, loading it when missing). */
function withCompareAndSet(redis: Redis): CartClient {
  if (!(COMMAND in redis)) {
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA });
  }
  return redis as CartClient;
}

/** Hash fields: one per line (`line:<sku>`), plus the cart's revision, currency and time. */
const LINE_PREFIX = 'line:';

/** A line's hash value: the sku is in the field name. */
const StoredLine = z.object({
  name: z.string().min(1),
  quantity: z.number().int().min(1),
  unitPriceMinor: z.number().int().min(0),
});

/** Attempts one write gets against concurrent writers before the client is told to retry. */
const MAX_ATTEMPTS = 25;

/** Redis error replies that mean "not now" (loading, failover, busy script), not a bug. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM)\b/;
/** ioredis' own messages for a connection that is down, closing or too slow. */
const CONNECTION_MESSAGE =
  /^(Connection is closed|Stream isn't writeable|Command timed out|Command aborted|Socket timeout|connect ETIMEDOUT|Ready check failed)/;
/** Socket errors ioredis may pass through. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** Whether an error from ioredis means Redis is unreachable or unable to serve right now. */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return TRANSIENT_REPLY.test(error.message);
  if (error.name === 'MaxRetriesPerRequestError' || error.name === 'AbortError') return true;
  const code = (error as { code?: unknown }).code;
  return (
    CONNECTION_MESSAGE.test(error.message) || (typeof code === 'string' && SOCKET_CODES.has(code))
  );
}

/**
 * Runs Redis calls, turning an outage into 503 UNAVAILABLE with Retry-After (the client may
 * retry; nothing was half-written, since every write is one atomic script); anything else,
 * e.g. a WRONGTYPE reply, stays an error the platform answers with 500.
 */
export async function withRedisUnavailable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isRedisUnavailableError(error)) {
      throw errors.unavailable('The cart store is unavailable.', 5, error);
    }
    throw error;
  }
}

/** The Redis key of a user's cart. */
export function cartKey(userId: string): string {
  return `cart:${userId}`;
}

/** A cart as read, with the revision a write must still find to succeed. */
interface Revisioned {
  cart: Cart;
  /** '' when the cart does not exist. */
  revision: string;
}

function decode(hash: Record<string, string>): Revisioned {
  const revision = hash.rev ?? '';
  if (revision === '') return { cart: EMPTY_CART, revision };
  const lines: CartLine[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(LINE_PREFIX)) continue;
    const sku = Sku.parse(field.slice(LINE_PREFIX.length));
    lines.push({ sku, ...StoredLine.parse(JSON.parse(value)) });
  }
  lines.sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  return {
    cart: {
      lines,
      currency: lines.length > 0 ? (hash.currency ?? null) : null,
      updatedAt: hash.updatedAt ?? null,
    },
    revision,
  };
}

function encode(cart: Cart, revision: string): string[] {
  const fields = ['rev', revision, 'updatedAt', cart.updatedAt ?? new Date().toISOString()];
  if (cart.currency !== null) fields.push('currency', cart.currency);
  for (const { sku, ...line } of cart.lines) {
    fields.push(`${LINE_PREFIX}${sku}`, JSON.stringify(line));
  }
  return fields;
}

/** A cart write's before and after (the same object when nothing needed writing). */
export interface CartUpdate {
  before: Cart;
  after: Cart;
}

/** Carts in Redis, one hash per user (`cart:<userId>`) that expires when left alone. */
export interface CartsRepository {
  /** The user's cart; the empty cart when there is none (or it expired). */
  get(userId: string): Promise<Cart>;
  /**
   * Applies `change` atomically: reads the cart, lets `change` compute the next one and writes
   * it only if nobody wrote in between (else re-reads and re-applies, a bounded number of
   * times). Returning the same cart writes nothing; an error thrown by `change` is passed on.
   * A write restarts the cart's TTL.
   */
  update(userId: string, change: (cart: Cart) => Cart): Promise<CartUpdate>;
  /** Deletes the cart; true if there was one. */
  clear(userId: string): Promise<boolean>;
}

/** Options of {@link cartsRepository}. */
export interface CartsRepositoryOptions {
  /** Lifetime of an untouched cart, restarted by every write. */
  ttlSeconds: number;
  metrics: Metrics;
}

/** Creates the repository over an ioredis client (the platform's, which fails fast when down). */
export function cartsRepository(redis: Redis, options: CartsRepositoryOptions): CartsRepository {
  const client = withCompareAndSet(redis);
  const conflicts = options.metrics.counter({
    name: 'cart_write_conflicts_total',
    help: 'Cart writes that lost a compare-and-set to a concurrent write of the same cart and were retried.',
  });
  const read = async (userId: string): Promise<Revisioned> =>
    decode(await client.hgetall(cartKey(userId)));

  return {
    get: (userId) => withRedisUnavailable(async () => (await read(userId)).cart),
    update: (userId, change) =>
      withRedisUnavailable(async () => {
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
          const { cart: before, revision } = await read(userId);
          const after = change(before);
          if (after === before) return { before, after };
          const written = await client[COMMAND](
            cartKey(userId),
            revision,
            options.ttlSeconds,
            ...encode(after, randomUUID()),
          );
          if (written === 1) return { before, after };
          conflicts.inc();
          // Jittered, growing pause so the writers of one cart stop colliding in lockstep.
          await sleep(Math.random() * Math.min(50, 2 * attempt));
        }
        throw cartBusy(userId);
      }),
    clear: (userId) => withRedisUnavailable(async () => (await client.del(cartKey(userId))) > 0),
  };
}
