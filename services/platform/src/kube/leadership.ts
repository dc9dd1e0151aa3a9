import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { envVar } from '../config/config.js';
import type { Metrics } from '../telemetry/metrics.js';
import { kubeClient } from './kube-client.js';
import {
  isLeaderGauge,
  LEADER_ELECTION_DEFAULTS,
  startLeaderElection,
  type LeaderElection,
} from './leader-election.js';

/** Where a pod's service account token mounts its namespace. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE =
  '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The variables of a service that elects a leader; spread into the service's schema (override
 * `LEADER_ELECTION_LEASE_NAME`'s default with the service's lease).
 */
export const leaderElectionConfigShape = {
  /** Unset: on when a cluster is configured (KUBERNETES_SERVICE_HOST or KUBECONFIG). */
  LEADER_ELECTION_ENABLED: envVar.bool().optional(),
  LEADER_ELECTION_LEASE_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'expected a Kubernetes object name'),
  /** Unset: POD_NAMESPACE, else the service account's namespace file, else `default`. */
  LEADER_ELECTION_NAMESPACE: z.string().min(1).optional(),
  LEADER_ELECTION_LEASE_DURATION_MS: envVar
    .int(1000, 600_000)
    .default(LEADER_ELECTION_DEFAULTS.leaseDurationMs),
  LEADER_ELECTION_RENEW_DEADLINE_MS: envVar
    .int(100, 600_000)
    .default(LEADER_ELECTION_DEFAULTS.renewDeadlineMs),
  LEADER_ELECTION_RETRY_PERIOD_MS: envVar
    .int(50, 600_000)
    .default(LEADER_ELECTION_DEFAULTS.retryPeriodMs),
  /** The holder identity (downward API); unset: `<hostname>_<pid>`. */
  POD_NAME: z.string().min(1).optional(),
  POD_NAMESPACE: z.string().min(1).optional(),
  /** Set by Kubernetes in every pod: the in-cluster API server. */
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  /** A kubeconfig file (outside a cluster). */
  KUBECONFIG: z.string().min(1).optional(),
};

/** The parsed variables of {@link leaderElectionConfigShape}. */
export type LeaderElectionConfig = z.output<z.ZodObject<typeof leaderElectionConfigShape>>;

/** The config issues of inconsistent election timings, for a schema's superRefine. */
export function leaderElectionTimingIssues(
  config: LeaderElectionConfig,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (config.LEADER_ELECTION_RENEW_DEADLINE_MS >= config.LEADER_ELECTION_LEASE_DURATION_MS) {
    issues.push({
      path: 'LEADER_ELECTION_RENEW_DEADLINE_MS',
      message: 'expected less than LEADER_ELECTION_LEASE_DURATION_MS',
    });
  }
  if (config.LEADER_ELECTION_RETRY_PERIOD_MS * 1.2 >= config.LEADER_ELECTION_RENEW_DEADLINE_MS) {
    issues.push({
      path: 'LEADER_ELECTION_RETRY_PERIOD_MS',
      message: 'expected less than LEADER_ELECTION_RENEW_DEADLINE_MS / 1.2',
    });
  }
  return issues;
}

/**
 * A schema's superRefine that reports {@link leaderElectionTimingIssues} on their variables:
 * `baseConfigSchema.extend({ ...leaderElectionConfigShape }).superRefine(checkLeaderElection)`.
 */
export function checkLeaderElection(config: LeaderElectionConfig, ctx: z.RefinementCtx): void {
  for (const issue of leaderElectionTimingIssues(config)) {
    ctx.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
  }
}

/** True when the config names a cluster (in a pod, or a kubeconfig) and election is not off. */
export function leaderElectionEnabled(config: LeaderElectionConfig): boolean {
  return (
    config.LEADER_ELECTION_ENABLED ??
    (config.KUBERNETES_SERVICE_HOST !== undefined || config.KUBECONFIG !== undefined)
  );
}

/** The client config: the kubeconfig file when one is named, else the pod's service account. */
export function loadKubeConfig(config: Pick<LeaderElectionConfig, 'KUBECONFIG'>): KubeConfig {
  const kubeConfig = new (kubeClient().KubeConfig)();
  if (config.KUBECONFIG) kubeConfig.loadFromFile(config.KUBECONFIG);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

/** The Lease's namespace: configured, else the pod's, else the service account's, else default. */
export function leaseNamespace(
  config: Pick<LeaderElectionConfig, 'LEADER_ELECTION_NAMESPACE' | 'POD_NAMESPACE'>,
  namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE,
): string {
  const configured = config.LEADER_ELECTION_NAMESPACE ?? config.POD_NAMESPACE;
  if (configured) return configured;
  try {
    return readFileSync(namespaceFile, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/** This replica's holder identity: the pod's name, else `<hostname>_<pid>`. */
export function holderIdentity(config: Pick<LeaderElectionConfig, 'POD_NAME'>): string {
  return config.POD_NAME ?? `${hostname()}_${String(process.pid)}`;
}

/** Options of {@link startLeadership}. */
export interface LeadershipOptions {
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  logger: Logger;
  metrics?: Metrics;
}

/**
 * Leadership as a service's config asks for it: a Lease election when enabled, else (no
 * cluster, e.g. `npm start`) this single process leads from the start until stop().
 */
export function startLeadership(
  config: LeaderElectionConfig,
  options: LeadershipOptions,
): LeaderElection {
  const lease = config.LEADER_ELECTION_LEASE_NAME;
  if (leaderElectionEnabled(config)) {
    return startLeaderElection({
      lease,
      namespace: leaseNamespace(config),
      identity: holderIdentity(config),
      kubeConfig: loadKubeConfig(config),
      leaseDurationMs: config.LEADER_ELECTION_LEASE_DURATION_MS,
      renewDeadlineMs: config.LEADER_ELECTION_RENEW_DEADLINE_MS,
      retryPeriodMs: config.LEADER_ELECTION_RETRY_PERIOD_MS,
      ...options,
    });
  }
  return soleLeader(lease, options);
}

/** The leadership of a process that is the only candidate: it leads until stop(). */
export function soleLeader(lease: string, options: LeadershipOptions): LeaderElection {
  const gauge = options.metrics && isLeaderGauge(options.metrics);
  gauge?.set({ lease }, 1);
  options.logger.info({ lease }, 'no cluster configured: leading without an election');
  let leading = true;
  const started = Promise.resolve()
    .then(options.onStartedLeading)
    .catch((err: unknown) => {
      options.logger.error({ err }, 'leader election: onStartedLeading failed');
    });
  let stopped: Promise<void> | undefined;
  return {
    isLeader: () => leading,
    stop: () =>
      (stopped ??= (async () => {
        await started;
        leading = false;
        gauge?.set({ lease }, 0);
        await options.onStoppedLeading();
      })()),
  };
}
