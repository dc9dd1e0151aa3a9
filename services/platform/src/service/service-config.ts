import { z } from 'zod';
import { envVar } from '../config/config.js';

/** The variables of a service that talks to Kafka; spread into the service's schema. */
export const kafkaConfigShape = {
  /** Comma-separated bootstrap servers, e.g. `127.0.0.1:19092`. */
  KAFKA_BROKERS: envVar.list(),
  KAFKA_SSL: envVar.bool().default(false),
  KAFKA_SASL_MECHANISM: z.enum(['scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /**
   * The consumer group (and its DLQ, `<group>.dlq`); the service's name by default. A new name
   * reads every topic from its start: a replay, which must change nothing (handlers are
   * idempotent).
   */
  KAFKA_GROUP_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'expected a consumer group name (A-Z a-z 0-9 . _ -)')
    .optional(),
};

/** The variables of a service with a MongoDB-compatible database. */
export const mongoConfigShape = {
  /** mongodb:// URL of MongoDB, DocumentDB or FerretDB. */
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// URL'),
  MONGO_DATABASE: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'expected a database name'),
  /** DocumentDB's CA bundle; turns TLS on. */
  MONGO_TLS_CA_FILE: z.string().min(1).optional(),
  /** false on DocumentDB, which rejects retryable writes. */
  MONGO_RETRY_WRITES: envVar.bool().default(true),
};

/** The variables of a service that publishes events through an outbox relay. */
export const outboxConfigShape = {
  /**
   * Pause between the relay's safety-net scans for unsent events, in ms. The service's own
   * writes wake the relay at once; the scan finds what another replica, a crash or a failed
   * publish left. On FerretDB a scan reads the whole collection, hence seconds, not less.
   */
  OUTBOX_INTERVAL_MS: envVar.int(50, 600_000).default(5_000),
};

/** The variables of a service with Redis. */
export const redisConfigShape = {
  /** redis:// or rediss:// (TLS, ElastiCache) URL. */
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
};

/** The variables of a service that calls others, besides each `UPSTREAM_<NAME>_URL`. */
export const upstreamConfigShape = {
  /** Per-attempt timeout of every call to another service, in ms. */
  UPSTREAM_TIMEOUT_MS: envVar.int(50, 60_000).default(2000),
  /**
   * Retries of an idempotent call after its first attempt. 0 behind an Envoy sidecar: the
   * sidecar retries under a retry budget, and retrying in both places would multiply the load
   * an ailing service gets (3 app attempts × 3 Envoy tries = 9 requests).
   */
  UPSTREAM_RETRIES: envVar.int(0, 5).default(2),
};

/** Kafka SASL settings from a parsed config, when all three are set. */
export function kafkaSasl(config: {
  KAFKA_SASL_MECHANISM?: 'scram-sha-256' | 'scram-sha-512' | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
}):
  { mechanism: 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | undefined {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username } = config;
  const password = config.KAFKA_SASL_PASSWORD;
  return mechanism && username && password ? { mechanism, username, password } : undefined;
}
