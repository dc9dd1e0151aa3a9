import type { OauthbearerProviderResponse, SASLOptions } from 'kafkajs';
import { z } from 'zod';
import { envVar } from '../config/config.js';

/** The SASL mechanisms KAFKA_SASL_MECHANISM accepts. */
export const SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'aws-msk-iam'] as const;

/** The variables of a service that talks to Kafka; spread into the service's schema. */
export const kafkaConfigShape = {
  /** Comma-separated bootstrap servers, e.g. `127.0.0.1:19092`. */
  KAFKA_BROKERS: envVar.list(),
  KAFKA_SSL: envVar.bool().default(false),
  /**
   * SASL: SCRAM with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (MSK SCRAM, most brokers), or
   * `aws-msk-iam`: MSK IAM with the pod's AWS credentials (IRSA on EKS) in KAFKA_AWS_REGION.
   * Unset: no SASL, and then neither user name nor password may be set.
   */
  KAFKA_SASL_MECHANISM: z.enum(SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** The MSK cluster's AWS region, for KAFKA_SASL_MECHANISM=aws-msk-iam. */
  KAFKA_AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1')
    .optional(),
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

/** The Kafka security variables of a parsed config. */
export interface KafkaSecurityConfig {
  KAFKA_SSL?: boolean | undefined;
  KAFKA_SASL_MECHANISM?: (typeof SASL_MECHANISMS)[number] | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
  KAFKA_AWS_REGION?: string | undefined;
}

/**
 * A refinement of a service's schema: SASL settings are all there or absent, never partial
 * (which would quietly mean "SASL off" and a broker refusing the connection, or worse one
 * accepting it), and SASL goes over TLS, as MSK requires (SCRAM's exchange and the IAM token
 * must not cross the network in clear).
 */
export function checkKafkaSasl(config: KafkaSecurityConfig, ctx: z.RefinementCtx): void {
  const issue = (path: keyof KafkaSecurityConfig, message: string): void => {
    ctx.addIssue({ code: 'custom', path: [path], message });
  };
  const mechanism = config.KAFKA_SASL_MECHANISM;
  const credentials = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const).filter(
    (name) => config[name] !== undefined,
  );
  if (mechanism === undefined) {
    if (credentials.length > 0) {
      issue(
        'KAFKA_SASL_MECHANISM',
        `required with ${credentials.join(' and ')} (without it SASL would be off)`,
      );
    }
    if (config.KAFKA_AWS_REGION !== undefined) {
      issue('KAFKA_SASL_MECHANISM', 'required with KAFKA_AWS_REGION: set it to aws-msk-iam');
    }
    return;
  }
  if (mechanism === 'aws-msk-iam') {
    if (config.KAFKA_AWS_REGION === undefined) {
      issue('KAFKA_AWS_REGION', 'required with KAFKA_SASL_MECHANISM=aws-msk-iam');
    }
    for (const name of credentials) {
      issue(name, 'not used with aws-msk-iam (the AWS credentials of the pod sign in)');
    }
  } else {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[name] === undefined)
        issue(name, `required with KAFKA_SASL_MECHANISM=${mechanism}`);
    }
  }
  if (config.KAFKA_SSL !== true) {
    issue('KAFKA_SSL', `must be true with KAFKA_SASL_MECHANISM=${mechanism}`);
  }
}

/**
 * The kafkajs SASL options of a parsed (and {@link checkKafkaSasl}-checked) config, or undefined
 * without SASL. MSK IAM is SASL/OAUTHBEARER with a token AWS's own signer makes from the pod's
 * credentials; kafkajs asks for a new one when the last expires (15 minutes).
 */
export function kafkaSasl(config: KafkaSecurityConfig): SASLOptions | undefined {
  const mechanism = config.KAFKA_SASL_MECHANISM;
  if (mechanism === 'aws-msk-iam') {
    const region = config.KAFKA_AWS_REGION;
    if (region === undefined) return undefined;
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async (): Promise<OauthbearerProviderResponse> => {
        // Loaded on use: the AWS SDK it brings is large and only MSK IAM needs it.
        const { generateAuthToken } = await import('aws-msk-iam-sasl-signer-js');
        const { token } = await generateAuthToken({ region });
        return { value: token };
      },
    };
  }
  const username = config.KAFKA_SASL_USERNAME;
  const password = config.KAFKA_SASL_PASSWORD;
  return mechanism && username && password ? { mechanism, username, password } : undefined;
}
