/**
 * The Envoy sidecar bootstrap, generated from the topology (which service calls which) and a
 * few settings. It is a pure function so the local stack, the tests and the Helm chart all
 * render the same configuration from the same inputs.
 */

/** One service of the topology: its name and the services it calls. */
export interface MeshService {
  readonly name: string;
  readonly upstreams: readonly string[];
}

/** A host (IP or DNS name) and port. */
export interface HostPort {
  readonly address: string;
  readonly port: number;
}

/** Outlier detection of an upstream cluster. */
export interface OutlierSettings {
  /** Consecutive 5xx answers that eject a host (default 5). */
  readonly consecutive5xx?: number;
  /** Consecutive 502/503/504 or connect failures that eject a host (default 5). */
  readonly consecutiveGatewayFailure?: number;
  /** How often ejection is evaluated, in ms (default 10 000). */
  readonly intervalMs?: number;
  /** First ejection time, in ms; it grows with each ejection (default 30 000). */
  readonly baseEjectionTimeMs?: number;
  /** Most of a cluster's hosts that may be ejected at once, in % (default 50). */
  readonly maxEjectionPercent?: number;
}

/** Circuit-breaker thresholds of an upstream cluster (Envoy's defaults are 1024 each). */
export interface CircuitBreakerSettings {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
}

/** Retries of idempotent requests to an upstream. */
export interface RetrySettings {
  /** Retries after the first try (default 2). */
  readonly numRetries?: number;
  /** Active retries allowed as a share of active requests, in % (default 20). */
  readonly budgetPercent?: number;
  /** Retries always allowed whatever the budget says (default 3). */
  readonly minRetryConcurrency?: number;
}

/** Envoy tracing to an OpenTelemetry collector over OTLP/gRPC. */
export interface TracingSettings {
  /** The collector's OTLP/gRPC endpoint, e.g. `jaeger-collector.observability:4317`. */
  readonly collector: HostPort;
  /** `service.name` of Envoy's spans; `<service>-envoy` by default. */
  readonly serviceName?: string;
}

/** Everything {@link envoyBootstrap} needs besides the topology. */
export interface EnvoySettings {
  /** Where Envoy listens for calls to the service (the port the Kubernetes Service targets). */
  readonly ingress: HostPort;
  /** Where the app itself listens, e.g. 127.0.0.1:8080; spoken to in HTTP/1.1. */
  readonly app: HostPort;
  /**
   * Egress listeners: the service's i-th upstream (in topology order) gets `port + i` on
   * `address`, so the app's `UPSTREAM_<NAME>_URL` is a plain `http://address:port`.
   */
  readonly egress: HostPort;
  /** Where each upstream answers, e.g. `catalog.emporium.svc.cluster.local:8080`. */
  readonly upstreams: Readonly<Record<string, HostPort>>;
  /** Port of the admin interface on 127.0.0.1 (`/stats/prometheus`); 9901 by default. */
  readonly adminPort?: number;
  /**
   * A listener that serves only the admin's `/stats/prometheus` and `/ready`, e.g. on
   * 0.0.0.0:15090 in a pod: Prometheus and the kubelet reach those two paths while the admin
   * interface itself (which can change Envoy's state) stays on 127.0.0.1.
   */
  readonly stats?: HostPort;
  /** Whole-request timeout of egress routes, in ms, retries included (default 2000). */
  readonly routeTimeoutMs?: number;
  /** Timeout of each try of an egress request, in ms (default 500). */
  readonly perTryTimeoutMs?: number;
  /** Timeout of requests to the app, in ms (default 15 000: it may call upstreams itself). */
  readonly ingressTimeoutMs?: number;
  readonly retries?: RetrySettings;
  readonly outlierDetection?: OutlierSettings;
  readonly circuitBreakers?: CircuitBreakerSettings;
  /** Envoy spans sent to this collector; no tracing without it. */
  readonly tracing?: TracingSettings;
  /** JSON access log on stdout (default true). */
  readonly accessLog?: boolean;
}

/** A protobuf Any: a typed extension config. */
export interface TypedConfig {
  readonly '@type': string;
  readonly [field: string]: unknown;
}

/** A named extension (filter, tracer, access logger). */
export interface TypedExtension {
  readonly name: string;
  readonly typed_config: TypedConfig;
}

/** config.core.v3.Address with a socket address. */
export interface EnvoyAddress {
  readonly socket_address: { readonly address: string; readonly port_value: number };
}

/** config.route.v3.RetryPolicy (the fields used here). */
export interface EnvoyRetryPolicy {
  readonly retry_on: string;
  readonly num_retries: number;
  /** Unset: each try may take the whole route timeout. */
  readonly per_try_timeout?: string;
}

/** config.route.v3.Route (the fields used here). */
export interface EnvoyRoute {
  readonly name: string;
  readonly match: {
    readonly prefix?: string;
    readonly path?: string;
    readonly headers?: readonly (
      | {
          readonly name: string;
          readonly string_match: { readonly safe_regex: { readonly regex: string } };
        }
      | { readonly name: string; readonly present_match: true }
    )[];
  };
  readonly route: {
    readonly cluster: string;
    readonly timeout: string;
    readonly auto_host_rewrite?: boolean;
    readonly retry_policy?: EnvoyRetryPolicy;
  };
}

/** config.route.v3.VirtualHost (the fields used here). */
export interface EnvoyVirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly EnvoyRoute[];
}

/** HttpConnectionManager's tracing block. */
export interface EnvoyTracing {
  readonly spawn_upstream_span?: boolean;
  readonly provider: TypedExtension;
}

/** extensions.filters.network.http_connection_manager.v3.HttpConnectionManager (used fields). */
export interface EnvoyHttpConnectionManager {
  readonly '@type': string;
  readonly stat_prefix: string;
  readonly codec_type: 'AUTO';
  readonly generate_request_id: boolean;
  readonly preserve_external_request_id: boolean;
  readonly use_remote_address?: boolean;
  readonly route_config: {
    readonly name: string;
    readonly virtual_hosts: readonly EnvoyVirtualHost[];
  };
  readonly http_filters: readonly TypedExtension[];
  readonly access_log?: readonly TypedExtension[];
  readonly tracing?: EnvoyTracing;
  readonly local_reply_config?: { readonly mappers: readonly EnvoyLocalReplyMapper[] };
}

/** HttpConnectionManager's LocalReplyConfig.ResponseMapper (the fields used here). */
export interface EnvoyLocalReplyMapper {
  readonly filter: {
    readonly status_code_filter: {
      readonly comparison: {
        readonly op: 'EQ';
        readonly value: { readonly default_value: number; readonly runtime_key: string };
      };
    };
  };
  readonly headers_to_add?: readonly {
    readonly header: { readonly key: string; readonly value: string };
    readonly append_action: 'OVERWRITE_IF_EXISTS_OR_ADD';
  }[];
  readonly body_format_override: {
    readonly json_format: Record<string, string>;
    readonly content_type: string;
  };
}

/** Seconds a client is told to wait when the sidecar cannot reach its app. */
export const LOCAL_REPLY_RETRY_AFTER_SECONDS = 1;

/**
 * What the ingress answers when Envoy itself replies (its app is down, restarting or too slow):
 * the platform's RFC 9457 problem documents instead of Envoy's text/plain page, and a 503 with
 * Retry-After, as every service's own 503 has. Answers from the app pass through untouched.
 */
function localReplyMappers(): EnvoyLocalReplyMapper[] {
  const mapper = (
    status: number,
    code: string,
    title: string,
    retryAfter: boolean,
  ): EnvoyLocalReplyMapper => ({
    filter: {
      status_code_filter: {
        comparison: {
          op: 'EQ',
          value: { default_value: status, runtime_key: `local_reply.problem_${String(status)}` },
        },
      },
    },
    ...(retryAfter
      ? {
          headers_to_add: [
            {
              header: { key: 'retry-after', value: String(LOCAL_REPLY_RETRY_AFTER_SECONDS) },
              append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
          ],
        }
      : {}),
    body_format_override: {
      json_format: {
        type: `urn:emporium:problem:${code.toLowerCase().replaceAll('_', '-')}`,
        title,
        status: '%RESPONSE_CODE%',
        detail: '%LOCAL_REPLY_BODY%',
        code,
      },
      content_type: 'application/problem+json',
    },
  });
  return [
    mapper(503, 'UNAVAILABLE', 'Service Unavailable', true),
    mapper(504, 'UPSTREAM_TIMEOUT', 'Gateway Timeout', false),
    mapper(502, 'UPSTREAM_FAILED', 'Bad Gateway', false),
  ];
}

/** config.listener.v3.Listener (the fields used here). */
export interface EnvoyListener {
  readonly name: string;
  readonly address: EnvoyAddress;
  readonly traffic_direction: 'INBOUND' | 'OUTBOUND';
  readonly filter_chains: readonly {
    readonly filters: readonly {
      readonly name: string;
      readonly typed_config: EnvoyHttpConnectionManager;
    }[];
  }[];
}

/** config.cluster.v3.CircuitBreakers.Thresholds (the fields used here). */
export interface EnvoyThresholds {
  readonly priority: 'DEFAULT';
  readonly max_connections: number;
  readonly max_pending_requests: number;
  readonly max_requests: number;
  readonly retry_budget?: {
    readonly budget_percent: { readonly value: number };
    readonly min_retry_concurrency: number;
  };
}

/** config.cluster.v3.OutlierDetection (the fields used here). */
export interface EnvoyOutlierDetection {
  readonly consecutive_5xx: number;
  readonly consecutive_gateway_failure: number;
  readonly enforcing_consecutive_gateway_failure: number;
  readonly interval: string;
  readonly base_ejection_time: string;
  readonly max_ejection_percent: number;
}

/** config.cluster.v3.Cluster (the fields used here). */
export interface EnvoyCluster {
  readonly name: string;
  readonly type: 'STRICT_DNS';
  readonly connect_timeout: string;
  readonly dns_lookup_family: 'V4_PREFERRED';
  readonly lb_policy: 'ROUND_ROBIN';
  readonly load_assignment: {
    readonly cluster_name: string;
    readonly endpoints: readonly {
      readonly lb_endpoints: readonly { readonly endpoint: { readonly address: EnvoyAddress } }[];
    }[];
  };
  readonly typed_extension_protocol_options: Readonly<Record<string, TypedConfig>>;
  readonly circuit_breakers?: { readonly thresholds: readonly EnvoyThresholds[] };
  readonly outlier_detection?: EnvoyOutlierDetection;
}

/** config.bootstrap.v3.Bootstrap as generated here. */
export interface EnvoyBootstrap {
  readonly node: { readonly id: string; readonly cluster: string };
  readonly admin: { readonly address: EnvoyAddress };
  readonly static_resources: {
    readonly listeners: readonly EnvoyListener[];
    readonly clusters: readonly EnvoyCluster[];
  };
}

/** Methods safe to try again: GET, HEAD and OPTIONS change nothing, PUT and DELETE converge. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'] as const;

/** What idempotent egress routes retry on: no answer, or a 502/503/504. */
export const RETRY_ON = 'connect-failure,refused-stream,reset,gateway-error';

/**
 * What idempotent ingress routes retry on: the local app gave no answer at all. A new process
 * taking over the port (SO_REUSEPORT, a rolling restart) leaves connections queued at the old
 * one's socket, which the kernel resets when that socket closes; the app's own answers (a 503
 * while a database is down) go back untouched.
 */
export const INGRESS_RETRY_ON = 'connect-failure,refused-stream,reset';

/** The cluster of the local app; no upstream may take this name. */
export const APP_CLUSTER = 'local_app';

/** The cluster of the sidecar's own admin interface, behind the stats listener. */
export const ADMIN_CLUSTER = 'envoy_admin';

/** The admin paths the stats listener exposes: Prometheus metrics and readiness. */
export const STATS_PATHS = ['/stats/prometheus', '/ready'] as const;

/** The cluster of the OpenTelemetry collector; no upstream may take this name. */
export const COLLECTOR_CLUSTER = 'opentelemetry_collector';

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** An Envoy Duration from milliseconds, e.g. 2000 → "2s", 250 → "0.25s". */
function duration(ms: number): string {
  return `${String(ms / 1000)}s`;
}

function socket({ address, port }: HostPort): EnvoyAddress {
  return { socket_address: { address, port_value: port } };
}

/** A STRICT_DNS cluster: it resolves a Kubernetes Service name and an IP literal alike. */
function cluster(
  name: string,
  at: HostPort,
  protocol: 'http1' | 'http2',
  extra: Pick<EnvoyCluster, 'circuit_breakers' | 'outlier_detection'> = {},
): EnvoyCluster {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    // Cluster DNS may answer AAAA first; pods and the local stack listen on IPv4.
    dns_lookup_family: 'V4_PREFERRED',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(at) } }] }],
    },
    typed_extension_protocol_options: {
      [HTTP_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_OPTIONS}`,
        explicit_http_config:
          protocol === 'http2' ? { http2_protocol_options: {} } : { http_protocol_options: {} },
      },
    },
    ...extra,
  };
}

function accessLog(direction: string): TypedExtension {
  return {
    name: 'envoy.access_loggers.stdout',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
      log_format: {
        json_format: {
          time: '%START_TIME%',
          direction,
          method: '%REQ(:METHOD)%',
          path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
          status: '%RESPONSE_CODE%',
          flags: '%RESPONSE_FLAGS%',
          upstream_cluster: '%UPSTREAM_CLUSTER%',
          attempts: '%UPSTREAM_REQUEST_ATTEMPT_COUNT%',
          duration_ms: '%DURATION%',
          request_id: '%REQ(X-REQUEST-ID)%',
          traceparent: '%REQ(TRACEPARENT)%',
        },
      },
    },
  };
}

function tracing(service: string, settings: TracingSettings): EnvoyTracing {
  return {
    // One span per upstream request, so an egress retry shows as its own span.
    spawn_upstream_span: true,
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
        grpc_service: { envoy_grpc: { cluster_name: COLLECTOR_CLUSTER }, timeout: '1s' },
        service_name: settings.serviceName ?? `${service}-envoy`,
      },
    },
  };
}

function httpListener(
  name: string,
  direction: 'INBOUND' | 'OUTBOUND',
  at: HostPort,
  routes: readonly EnvoyRoute[],
  service: string,
  settings: EnvoySettings,
): EnvoyListener {
  const manager: EnvoyHttpConnectionManager = {
    '@type': HCM_TYPE,
    stat_prefix: name,
    codec_type: 'AUTO',
    generate_request_id: true,
    // Keep the caller's x-request-id so one id follows a request across every hop.
    preserve_external_request_id: true,
    // The ingress is the pod's edge: Envoy appends the peer's address to X-Forwarded-For, so an
    // app that trusts one proxy hop (the gateway's TRUST_PROXY) sees the real client, not Envoy.
    ...(direction === 'INBOUND' ? { use_remote_address: true } : {}),
    route_config: {
      name,
      virtual_hosts: [{ name, domains: ['*'], routes }],
    },
    http_filters: [
      {
        name: 'envoy.filters.http.router',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        },
      },
    ],
    ...(settings.accessLog === false ? {} : { access_log: [accessLog(name)] }),
    ...(settings.tracing ? { tracing: tracing(service, settings.tracing) } : {}),
    // The ingress answers callers outside the pod (the gateway's: the store's clients).
    ...(direction === 'INBOUND' ? { local_reply_config: { mappers: localReplyMappers() } } : {}),
  };
  return {
    name,
    address: socket(at),
    traffic_direction: direction,
    filter_chains: [
      {
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: manager }],
      },
    ],
  };
}

/**
 * The stats listener: exact admin paths to the admin cluster, anything else 404. No access
 * log and no tracing: a scrape every few seconds would drown the real traffic in both.
 */
function statsListener(at: HostPort): EnvoyListener {
  const routes: EnvoyRoute[] = STATS_PATHS.map((path) => ({
    name: `admin${path.replaceAll('/', '_')}`,
    match: { path },
    route: { cluster: ADMIN_CLUSTER, timeout: '5s' },
  }));
  return {
    name: 'stats',
    address: socket(at),
    traffic_direction: 'INBOUND',
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE,
              stat_prefix: 'stats',
              codec_type: 'AUTO',
              generate_request_id: false,
              preserve_external_request_id: false,
              route_config: {
                name: 'stats',
                virtual_hosts: [{ name: 'stats', domains: ['*'], routes }],
              },
              http_filters: [
                {
                  name: 'envoy.filters.http.router',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

/** The header that makes any call safe to repeat: the upstream answers a repeat as the first. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** The three routes of an egress listener (see {@link retryingRoutes}). */
function egressRoutes(upstream: string, settings: EnvoySettings): EnvoyRoute[] {
  const timeout = duration(settings.routeTimeoutMs ?? 2000);
  return retryingRoutes(
    upstream,
    { cluster: upstream, timeout, auto_host_rewrite: true },
    {
      retry_on: RETRY_ON,
      num_retries: settings.retries?.numRetries ?? 2,
      per_try_timeout: duration(settings.perTryTimeoutMs ?? 500),
    },
  );
}

/**
 * Three routes to one cluster: idempotent methods and calls carrying an Idempotency-Key retry
 * under `retry`, the rest do not.
 */
function retryingRoutes(
  name: string,
  route: EnvoyRoute['route'],
  retry: EnvoyRetryPolicy,
): EnvoyRoute[] {
  const retrying = { ...route, retry_policy: retry };
  return [
    {
      name: `${name}_idempotent`,
      match: {
        prefix: '/',
        headers: [
          {
            name: ':method',
            string_match: { safe_regex: { regex: `^(${IDEMPOTENT_METHODS.join('|')})$` } },
          },
        ],
      },
      route: retrying,
    },
    // A POST with an Idempotency-Key (a checkout, orders' stock reservation) is safe to send
    // again, so the app need not retry it itself behind the sidecar.
    {
      name: `${name}_idempotency_key`,
      match: { prefix: '/', headers: [{ name: IDEMPOTENCY_KEY_HEADER, present_match: true }] },
      route: retrying,
    },
    // A POST may have taken effect before the failure: trying it again could do it twice.
    { name: `${name}_other`, match: { prefix: '/' }, route },
  ];
}

function upstreamCluster(upstream: string, at: HostPort, settings: EnvoySettings): EnvoyCluster {
  const breakers = settings.circuitBreakers ?? {};
  const retries = settings.retries ?? {};
  const outlier = settings.outlierDetection ?? {};
  return cluster(upstream, at, 'http1', {
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: breakers.maxConnections ?? 1024,
          max_pending_requests: breakers.maxPendingRequests ?? 1024,
          max_requests: breakers.maxRequests ?? 1024,
          // A budget rather than a fixed max_retries: retries scale with load but can never
          // multiply an outage's traffic by more than the budget.
          retry_budget: {
            budget_percent: { value: retries.budgetPercent ?? 20 },
            min_retry_concurrency: retries.minRetryConcurrency ?? 3,
          },
        },
      ],
    },
    outlier_detection: {
      consecutive_5xx: outlier.consecutive5xx ?? 5,
      consecutive_gateway_failure: outlier.consecutiveGatewayFailure ?? 5,
      // Envoy does not enforce gateway-failure ejection unless told to.
      enforcing_consecutive_gateway_failure: 100,
      interval: duration(outlier.intervalMs ?? 10_000),
      base_ejection_time: duration(outlier.baseEjectionTimeMs ?? 30_000),
      max_ejection_percent: outlier.maxEjectionPercent ?? 50,
    },
  });
}

/** The upstreams `service` calls, in topology order; throws when it is not in the topology. */
function upstreamsOf(service: string, topology: readonly MeshService[]): readonly string[] {
  const spec = topology.find((s) => s.name === service);
  if (!spec) throw new Error(`envoyBootstrap: ${service} is not in the topology`);
  return spec.upstreams;
}

/**
 * The egress port of each upstream `service` calls: `settings.egress.port + i` for the i-th,
 * so `UPSTREAM_<NAME>_URL` is `http://<egress address>:<port>`.
 */
export function egressPorts(
  service: string,
  topology: readonly MeshService[],
  settings: Pick<EnvoySettings, 'egress'>,
): Record<string, number> {
  return Object.fromEntries(
    upstreamsOf(service, topology).map((upstream, i) => [upstream, settings.egress.port + i]),
  );
}

/**
 * The Envoy v3 bootstrap of `service`'s sidecar, a pure function of the topology and settings.
 *
 * - Ingress listener `ingress` on `settings.ingress` → cluster `local_app` (HTTP/1.1); an
 *   idempotent or keyed call retries only when the app gave no answer at all
 *   ({@link INGRESS_RETRY_ON}), e.g. a connection reset by a process handing its port over.
 * - One egress listener `egress_<upstream>` per upstream, on consecutive ports from
 *   `settings.egress.port` (see {@link egressPorts}), so the platform's upstream client just
 *   gets `UPSTREAM_<NAME>_URL=http://127.0.0.1:<port>` and needs no Host header or prefix.
 *   Each routes to a STRICT_DNS cluster named after the upstream, with the route timeout;
 *   GET/HEAD/PUT/DELETE/OPTIONS and calls with an Idempotency-Key retry on {@link RETRY_ON}
 *   under a retry budget, anything else never retries; the cluster has outlier detection and circuit-breaker thresholds.
 * - `admin` on 127.0.0.1:`adminPort` (default 9901): Prometheus scrapes `/stats/prometheus`.
 * - With `settings.stats`, a `stats` listener there serving only the admin's
 *   {@link STATS_PATHS} (through cluster `envoy_admin`), for scrapers and probes off the pod.
 * - With `settings.tracing`, every listener traces with the OpenTelemetry tracer (W3C
 *   `traceparent`) to the collector over OTLP/gRPC; without it, no tracing and no collector.
 */
export function envoyBootstrap(
  service: string,
  topology: readonly MeshService[],
  settings: EnvoySettings,
): EnvoyBootstrap {
  const upstreams = upstreamsOf(service, topology);
  const ports = egressPorts(service, topology, settings);
  const reserved = new Set([APP_CLUSTER, COLLECTOR_CLUSTER, ADMIN_CLUSTER]);
  const adminPort = settings.adminPort ?? 9901;
  const listeners: EnvoyListener[] = [
    httpListener(
      'ingress',
      'INBOUND',
      settings.ingress,
      retryingRoutes(
        'app',
        { cluster: APP_CLUSTER, timeout: duration(settings.ingressTimeoutMs ?? 15_000) },
        {
          retry_on: INGRESS_RETRY_ON,
          num_retries: settings.retries?.numRetries ?? 2,
        },
      ),
      service,
      settings,
    ),
  ];
  const clusters: EnvoyCluster[] = [cluster(APP_CLUSTER, settings.app, 'http1')];
  for (const upstream of upstreams) {
    const at = settings.upstreams[upstream];
    if (!at) throw new Error(`envoyBootstrap: no address for ${service}'s upstream ${upstream}`);
    if (reserved.has(upstream)) throw new Error(`envoyBootstrap: ${upstream} is a reserved name`);
    const port = ports[upstream] ?? settings.egress.port;
    listeners.push(
      httpListener(
        `egress_${upstream}`,
        'OUTBOUND',
        { address: settings.egress.address, port },
        egressRoutes(upstream, settings),
        service,
        settings,
      ),
    );
    clusters.push(upstreamCluster(upstream, at, settings));
  }
  if (settings.stats) {
    listeners.push(statsListener(settings.stats));
    clusters.push(cluster(ADMIN_CLUSTER, { address: '127.0.0.1', port: adminPort }, 'http1'));
  }
  // OTLP/gRPC needs HTTP/2 to the collector.
  if (settings.tracing)
    clusters.push(cluster(COLLECTOR_CLUSTER, settings.tracing.collector, 'http2'));
  return {
    node: { id: `${service}-sidecar`, cluster: service },
    admin: { address: socket({ address: '127.0.0.1', port: adminPort }) },
    static_resources: { listeners, clusters },
  };
}
