import { join } from 'node:path';
import { startEnvoy, type EnvoyServer, type ManagedProcess } from '@emporium/harness';
import { egressPorts, envoyBootstrap, type EnvoyBootstrap } from '../mesh/envoy-bootstrap.js';
import type { StackPorts } from './ports.js';
import { SERVICES, type ServiceName } from './topology.js';

const LOCALHOST = '127.0.0.1';

/** A running Envoy sidecar of the local stack. */
export interface RunningSidecar {
  service: ServiceName;
  /** Its ingress, where the rest of the system reaches the service. */
  url: string;
  /** Its admin interface (`/stats/prometheus`, `/clusters`, `/config_dump`). */
  adminUrl: string;
  /** Its Envoy process (the fault suite kills it). */
  process: ManagedProcess;
  stop: () => Promise<void>;
}

/**
 * The whole-request timeout of the local sidecars' egress routes, in ms: no call through the
 * mesh takes longer, so neither does a client's request to the gateway (plus its own work).
 */
export const LOCAL_ROUTE_TIMEOUT_MS = 5000;

/**
 * The bootstrap of `service`'s sidecar on the local stack: the generator's output with every
 * address on 127.0.0.1, the upstreams at their sidecars' ingress ports, and tracing to the
 * stack's OTLP/gRPC endpoint when `tracing` is on.
 */
export function localSidecarBootstrap(
  service: ServiceName,
  ports: StackPorts,
  tracing: boolean,
): EnvoyBootstrap {
  const own = ports.services[service];
  return envoyBootstrap(service, SERVICES, {
    ingress: { address: LOCALHOST, port: own.service },
    app: { address: LOCALHOST, port: own.app },
    egress: { address: LOCALHOST, port: own.egress },
    upstreams: Object.fromEntries(
      SERVICES.map(({ name }) => [
        name,
        { address: LOCALHOST, port: ports.services[name].service },
      ]),
    ),
    adminPort: own.envoyAdmin,
    // Twenty processes share a laptop's cores here, so a try gets longer than in a pod; the
    // app's own UPSTREAM_TIMEOUT_MS still bounds the whole call.
    perTryTimeoutMs: 1500,
    routeTimeoutMs: LOCAL_ROUTE_TIMEOUT_MS,
    ...(tracing ? { tracing: { collector: { address: LOCALHOST, port: ports.otlpGrpc } } } : {}),
  });
}

/**
 * What a service's app is told when a sidecar fronts it: no retries of its own (its sidecar
 * retries idempotent and Idempotency-Key calls under a budget; both would multiply), and,
 * for the public gateway, to trust the one X-Forwarded-For hop its sidecar appends.
 */
export function behindSidecarEnv(service: ServiceName): Record<string, string> {
  const spec = SERVICES.find((s) => s.name === service);
  return {
    ...(spec && spec.upstreams.length > 0 ? { UPSTREAM_RETRIES: '0' } : {}),
    ...(service === 'gateway' ? { TRUST_PROXY: '1' } : {}),
  };
}

/** The URL `caller`'s app uses for `callee`: its own sidecar's egress listener for it. */
export function sidecarEgressUrl(
  caller: ServiceName,
  callee: ServiceName,
  ports: StackPorts,
): string {
  const port = egressPorts(caller, SERVICES, { egress: { address: LOCALHOST, port: 0 } })[callee];
  if (port === undefined) throw new Error(`${caller} does not call ${callee} in the topology`);
  return `http://${LOCALHOST}:${String(ports.services[caller].egress + port)}`;
}

/**
 * Starts one Envoy per named service, each waiting until its admin says LIVE. A failure stops
 * the sidecars already started.
 */
export async function startSidecars(
  names: readonly ServiceName[],
  ports: StackPorts,
  tracing: boolean,
  /** Keep each Envoy's log here as `<service>-envoy.log`. */
  logDir?: string,
): Promise<RunningSidecar[]> {
  // All at once: each Envoy only needs its own ports.
  const results = await Promise.allSettled(
    names.map(async (service): Promise<RunningSidecar> => {
      const own = ports.services[service];
      const envoy: EnvoyServer = await startEnvoy({
        bootstrap: localSidecarBootstrap(service, ports, tracing),
        name: `${service}-envoy`,
        adminPort: own.envoyAdmin,
        ...(logDir ? { logFile: join(logDir, `${service}-envoy.log`) } : {}),
      });
      return {
        service,
        url: `http://${LOCALHOST}:${String(own.service)}`,
        adminUrl: envoy.adminUrl,
        process: envoy.process,
        stop: envoy.stop,
      };
    }),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const sidecar of started.reverse()) await sidecar.stop();
    throw failed.reason;
  }
  return started;
}
