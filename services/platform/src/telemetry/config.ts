import { z } from 'zod';
import { envVar, loadConfigOrExit, type Environment } from '../config/config.js';
import type { TelemetryOptions } from './sdk.js';

/**
 * The telemetry preload's variables. The preload runs before the service's own config.ts, so
 * it parses these itself, with the same loader and the same all-at-once error.
 */
export const telemetryConfigSchema = z.object({
  /** Off: no SDK at all (the benchmark's baseline, or a laptop without a collector). */
  TELEMETRY_ENABLED: envVar.bool().default(true),
  OTEL_SERVICE_NAME: z.string().min(1, 'expected the service name'),
  SERVICE_VERSION: z.string().min(1).default('0.0.0-dev'),
  DEPLOYMENT_ENVIRONMENT: z.string().min(1).default('local'),
  OTEL_EXPORTER_OTLP_ENDPOINT: envVar.url().default('http://127.0.0.1:4318'),
  /** Head sampling ratio for new traces, 0–1. */
  OTEL_TRACES_SAMPLER_ARG: envVar.number(0, 1).default(1),
  /** Set from the downward API on Kubernetes. */
  POD_NAME: z.string().optional(),
  POD_NAMESPACE: z.string().optional(),
});

/** Telemetry settings from the environment; exits listing every bad variable. */
export function telemetryOptionsFromEnv(env: Environment): TelemetryOptions {
  const config = loadConfigOrExit('telemetry', telemetryConfigSchema, env);
  return {
    enabled: config.TELEMETRY_ENABLED,
    serviceName: config.OTEL_SERVICE_NAME,
    serviceVersion: config.SERVICE_VERSION,
    environment: config.DEPLOYMENT_ENVIRONMENT,
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
    podName: config.POD_NAME,
    namespace: config.POD_NAMESPACE,
  };
}
