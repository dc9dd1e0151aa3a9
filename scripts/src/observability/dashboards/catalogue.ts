/* eslint-disable @typescript-eslint/no-deprecated -- the SDK deprecates the classic dashboard
   model for dashboardv2, but the classic JSON is what Grafana's dashboard sidecar and import take
   on every Grafana from 10 to 12; v2 needs Grafana 12's new dashboard API. */
/**
 * Emporium's Grafana dashboards, as code: overview → service → traces, plus the Kafka
 * pipeline, the mesh, the Node runtime and the business funnel. `npm run chart:generate`
 * writes them to charts/emporium/files/dashboards/ and `npm run dashboards:check` runs every
 * query here against the real Prometheus of a running stack.
 *
 * Label names follow the OpenTelemetry semantic conventions in their Prometheus form
 * (`http_route`, `messaging_destination_name`…); `service` is prom-client's default label.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ORDER_SLO, GATEWAY_SLOS } from '../rules/slos.js';
import { RATE, dashboard, dashboardUrl, tracesUrl, type PanelSpec } from './panels.js';

/** The dashboards' uids; a link or a test names a dashboard by these. */
export const DASHBOARD_UIDS = {
  overview: 'emporium-overview',
  service: 'emporium-service',
  kafka: 'emporium-kafka',
  mesh: 'emporium-mesh',
  runtime: 'emporium-runtime',
  business: 'emporium-business',
} as const;

const SVC = 'service=~"$service"';
/** Every service's own availability objective on the overview (the gateway's SLO is the same). */
const SERVICE_AVAILABILITY = 0.999;
const HTTP = 'http_server_request_duration_seconds';
const CLIENT = 'http_client_request_duration_seconds';

const quantiles = (metric: string, selector: string, by: string): PanelSpec['queries'] =>
  [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${String(q)}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket{${selector}}[${RATE}])))`,
    legend: `p${String(q * 100)}${by ? ` {{${by}}}` : ''}`,
    exemplars: q === 0.99,
  }));

const serviceLink = {
  title: 'Service detail',
  url: dashboardUrl(DASHBOARD_UIDS.service, '&var-service=${__field.labels.service}'),
};
const serviceTraces = { title: 'Traces of this service', url: tracesUrl('${service}') };

/**
 * The share of `metric`'s rate matching `bad`, by `by`: 0 (not "no data") while nothing is
 * bad, since a rate of bad events that never happened has no series to divide.
 */
const errorRatio = (metric: string, selector: string, bad: string, by: string): string => {
  const all = `sum by (${by}) (rate(${metric}{${selector}}[${RATE}]))`;
  const badSelector = [selector, bad].filter(Boolean).join(', ');
  return `(sum by (${by}) (rate(${metric}{${badSelector}}[${RATE}])) or ${all} * 0) / ${all}`;
};

/** Availability over `window` against the SLO's budget: 1 = untouched, 0 = spent. */
const budgetLeft = (errorRatio: string, objective: number): string =>
  `1 - (${errorRatio}) / ${String(1 - objective)}`;

function overview(): Dashboard {
  const availability = GATEWAY_SLOS.availability;
  return dashboard({
    uid: DASHBOARD_UIDS.overview,
    title: 'Emporium / Overview',
    description:
      'Every service at a glance (rate, errors, duration, saturation), the SLOs and the order funnel. Click a series to open its service.',
    serviceVariable: 'multi',
    rows: [
      {
        title: 'SLOs and the order funnel',
        panels: [
          {
            title: 'Gateway availability: error budget left (30 d)',
            description: `Share of the ${String(availability.objective * 100)} % availability budget not yet spent over 30 days (recording rule ${availability.recordPrefix}:ratio_rate30d).`,
            queries: [
              {
                expr: budgetLeft(
                  `${availability.recordPrefix}:ratio_rate30d`,
                  availability.objective,
                ),
                legend: 'budget left',
              },
            ],
            unit: 'percentunit',
            stat: true,
            width: 6,
          },
          {
            title: 'Gateway latency: error budget left (30 d)',
            description: `Share of the budget of requests slower than ${String(GATEWAY_SLOS.latency.thresholdSeconds * 1000)} ms not yet spent over 30 days.`,
            queries: [
              {
                expr: budgetLeft(
                  `${GATEWAY_SLOS.latency.recordPrefix}:ratio_rate30d`,
                  GATEWAY_SLOS.latency.objective,
                ),
                legend: 'budget left',
              },
            ],
            unit: 'percentunit',
            stat: true,
            width: 6,
          },
          {
            title: 'Orders final within 60 s: error budget left (30 d)',
            description: `Share of the budget of orders that took longer than ${String(ORDER_SLO.thresholdSeconds)} s to be SHIPPED or CANCELLED not yet spent over 30 days.`,
            queries: [
              {
                expr: budgetLeft(`${ORDER_SLO.recordPrefix}:ratio_rate30d`, ORDER_SLO.objective),
                legend: 'budget left',
              },
            ],
            unit: 'percentunit',
            stat: true,
            width: 6,
          },
          {
            title: 'Order funnel',
            description: 'Orders placed, then paid, shipped or cancelled, per second.',
            queries: [
              { expr: `sum(rate(orders_placed_total[${RATE}]))`, legend: 'placed' },
              {
                expr: `sum by (to) (rate(order_transitions_total{to=~"PAID|SHIPPED|CANCELLED"}[${RATE}]))`,
                legend: '{{to}}',
              },
            ],
            unit: 'ops',
            width: 6,
          },
        ],
      },
      {
        title: '$service',
        repeat: 'service',
        panels: [
          {
            title: 'Requests',
            description: 'Requests per second, by status class.',
            queries: [
              {
                expr: `sum by (service, status_class) (label_replace(rate(${HTTP}_count{${SVC}}[${RATE}]), "status_class", "\${1}xx", "http_response_status_code", "(\\\\d).*"))`,
                legend: '{{status_class}}',
              },
            ],
            unit: 'reqps',
            width: 4,
            links: [serviceLink],
          },
          {
            title: 'Error ratio',
            description: 'Share of requests answered 5xx (the server failed).',
            queries: [
              {
                expr: errorRatio(
                  `${HTTP}_count`,
                  SVC,
                  'http_response_status_code=~"5.."',
                  'service',
                ),
                legend: '{{service}}',
              },
            ],
            unit: 'percentunit',
            width: 4,
            links: [serviceLink],
          },
          {
            title: 'Duration',
            description:
              'Request duration percentiles; the p99 points carry exemplars (open the trace).',
            queries: quantiles(HTTP, SVC, ''),
            unit: 's',
            width: 4,
            links: [serviceLink, serviceTraces],
          },
          {
            title: 'Saturation: CPU and event loop',
            description:
              'CPU cores used, and the p99 event-loop delay (time a ready callback waits).',
            queries: [
              {
                expr: `sum by (service) (rate(process_cpu_seconds_total{${SVC}}[${RATE}]))`,
                legend: 'CPU (cores)',
              },
              {
                expr: `max by (service) (nodejs_eventloop_lag_p99_seconds{${SVC}})`,
                legend: 'event-loop p99 (s)',
              },
            ],
            unit: 'short',
            width: 4,
          },
          {
            title: 'Memory',
            description: 'Resident set size of the service’s processes.',
            queries: [
              {
                expr: `sum by (service) (process_resident_memory_bytes{${SVC}})`,
                legend: 'RSS',
              },
            ],
            unit: 'bytes',
            width: 4,
          },
          {
            title: 'Availability budget left (this range)',
            description: `Share of a ${String(SERVICE_AVAILABILITY * 100)} % availability budget (requests without a 5xx) not spent over the dashboard's time range: 1 untouched, 0 spent, below 0 overspent.`,
            queries: [
              {
                expr: budgetLeft(
                  `(sum by (service) (increase(${HTTP}_count{${SVC}, http_response_status_code=~"5.."}[$__range])) or sum by (service) (increase(${HTTP}_count{${SVC}}[$__range])) * 0) / sum by (service) (increase(${HTTP}_count{${SVC}}[$__range]))`,
                  SERVICE_AVAILABILITY,
                ),
                legend: 'budget left',
              },
            ],
            unit: 'percentunit',
            stat: true,
            width: 4,
          },
        ],
      },
    ],
  });
}

function service(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.service,
    title: 'Emporium / Service',
    description:
      'One service in depth: its routes (rate, errors, duration), the services it calls, its cache, MongoDB and Redis, with exemplars that open the trace.',
    serviceVariable: 'multi',
    rows: [
      {
        title: 'Routes',
        panels: [
          {
            title: 'Rate by route',
            description: 'Requests per second by route and method.',
            queries: [
              {
                expr: `sum by (service, http_request_method, http_route) (rate(${HTTP}_count{${SVC}}[${RATE}]))`,
                legend: '{{service}} {{http_request_method}} {{http_route}}',
              },
            ],
            unit: 'reqps',
          },
          {
            title: 'Errors by route',
            description: 'Requests per second answered 4xx or 5xx, by route and status.',
            queries: [
              {
                // Each route at 0 while it has no errors (not "no data").
                expr: `sum by (service, http_route, http_response_status_code) (rate(${HTTP}_count{${SVC}, http_response_status_code=~"[45].."}[${RATE}])) or sum by (service, http_route) (rate(${HTTP}_count{${SVC}}[${RATE}])) * 0`,
                legend: '{{service}} {{http_route}} {{http_response_status_code}}',
              },
            ],
            unit: 'reqps',
          },
          {
            title: 'p95 duration by route',
            description:
              'The 95th percentile of request duration by route; exemplars open the trace.',
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, service, http_route) (rate(${HTTP}_bucket{${SVC}}[${RATE}])))`,
                legend: '{{service}} {{http_route}}',
                exemplars: true,
              },
            ],
            unit: 's',
            links: [serviceTraces],
          },
        ],
      },
      {
        title: 'Calls to other services',
        panels: [
          {
            title: 'Upstream calls',
            description: 'Calls per second to each upstream, by status (per attempt).',
            queries: [
              {
                expr: `sum by (service, upstream, http_response_status_code) (rate(${CLIENT}_count{${SVC}}[${RATE}]))`,
                legend: '{{service}} → {{upstream}} {{http_response_status_code}}',
              },
            ],
            unit: 'reqps',
          },
          {
            title: 'Upstream errors',
            description:
              'Share of attempts that failed: 5xx, or no answer at all (a status of 0 means the connection failed or timed out).',
            queries: [
              {
                expr: errorRatio(
                  `${CLIENT}_count`,
                  SVC,
                  'http_response_status_code=~"5..|0"',
                  'service, upstream',
                ),
                legend: '{{service}} → {{upstream}}',
              },
            ],
            unit: 'percentunit',
          },
          {
            title: 'Upstream p95 duration',
            description: 'The 95th percentile of one attempt, by upstream.',
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, service, upstream) (rate(${CLIENT}_bucket{${SVC}}[${RATE}])))`,
                legend: '{{service}} → {{upstream}}',
                exemplars: true,
              },
            ],
            unit: 's',
          },
        ],
      },
      {
        title: 'Data stores',
        panels: [
          {
            title: 'Cache hit ratio',
            description: 'Share of cache lookups answered from Redis.',
            queries: [
              {
                expr: `sum by (service, cache) (rate(cache_requests_total{${SVC}, result="hit"}[${RATE}])) / sum by (service, cache) (rate(cache_requests_total{${SVC}}[${RATE}]))`,
                legend: '{{service}} {{cache}}',
              },
            ],
            unit: 'percentunit',
          },
          {
            title: 'MongoDB p95 by operation',
            description: 'The 95th percentile of MongoDB commands, by command and collection.',
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, service, db_operation_name) (rate(db_client_operation_duration_seconds_bucket{${SVC}, db_system_name="mongodb"}[${RATE}])))`,
                legend: '{{service}} {{db_operation_name}}',
              },
            ],
            unit: 's',
          },
          {
            title: 'Redis p95 by command',
            description: 'The 95th percentile of Redis commands, by command.',
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, service, db_operation_name) (rate(db_client_operation_duration_seconds_bucket{${SVC}, db_system_name="redis"}[${RATE}])))`,
                legend: '{{service}} {{db_operation_name}}',
              },
            ],
            unit: 's',
          },
        ],
      },
    ],
  });
}

const GROUP = 'messaging_consumer_group_name';
const TOPIC = 'messaging_destination_name';

function kafka(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.kafka,
    title: 'Emporium / Kafka pipeline',
    description:
      'Events from the outbox to the consumers: produce and consume rates, lag, handler duration, retries, dead letters and the outbox backlog.',
    rows: [
      {
        title: 'Flow',
        panels: [
          {
            title: 'Produced per topic',
            description: 'Records sent per second, by topic and outcome.',
            queries: [
              {
                expr: `sum by (${TOPIC}, outcome) (rate(messaging_client_sent_messages_total[${RATE}]))`,
                legend: '{{' + TOPIC + '}} {{outcome}}',
              },
            ],
            unit: 'ops',
          },
          {
            title: 'Consumed per group',
            description: 'Records delivered per second, by consumer group and topic.',
            queries: [
              {
                expr: `sum by (${GROUP}, ${TOPIC}) (rate(messaging_client_consumed_messages_total[${RATE}]))`,
                legend: '{{' + GROUP + '}} ← {{' + TOPIC + '}}',
              },
            ],
            unit: 'ops',
          },
          {
            title: 'Consumer lag',
            description:
              'Records between the group’s position and the high watermark, per group and topic (updated as each record is processed).',
            queries: [
              {
                expr: `sum by (${GROUP}, ${TOPIC}) (messaging_consumer_lag)`,
                legend: '{{' + GROUP + '}} ← {{' + TOPIC + '}}',
              },
            ],
            unit: 'short',
          },
        ],
      },
      {
        title: 'Handlers',
        panels: [
          {
            title: 'Handler p95 duration',
            description: 'From receipt to commit-ready, retries included, by group.',
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, ${GROUP}) (rate(messaging_process_duration_seconds_bucket[${RATE}])))`,
                legend: '{{' + GROUP + '}}',
                exemplars: true,
              },
            ],
            unit: 's',
          },
          {
            title: 'Retries and failures',
            description:
              'Failed attempts per second by reason: handler-error attempts are retried, then dead-lettered.',
            queries: [
              {
                expr: `sum by (${GROUP}, reason) (rate(messaging_process_failures_total[${RATE}]))`,
                legend: '{{' + GROUP + '}} {{reason}}',
              },
            ],
            unit: 'ops',
          },
          {
            title: 'Dead-lettered',
            description: 'Records sent to `<group>.dlq` in the window, by group and reason.',
            queries: [
              {
                expr: `sum by (${GROUP}, reason) (increase(messaging_dead_lettered_messages_total[${RATE}]))`,
                legend: '{{' + GROUP + '}} {{reason}}',
              },
            ],
            unit: 'short',
          },
        ],
      },
      {
        title: 'Outbox',
        panels: [
          {
            title: 'Outbox backlog',
            description: 'Events written but not yet published, per service and collection.',
            queries: [
              {
                expr: 'sum by (service, collection) (outbox_pending_events)',
                legend: '{{service}} {{collection}}',
              },
            ],
            unit: 'short',
          },
          {
            title: 'Oldest outbox event',
            description: 'Age of the oldest unpublished event: how late the events are.',
            queries: [
              {
                expr: 'max by (service, collection) (outbox_oldest_pending_age_seconds)',
                legend: '{{service}} {{collection}}',
              },
            ],
            unit: 's',
          },
          {
            title: 'Outbox publishing',
            description: 'Events published per second, and failed publish attempts.',
            queries: [
              {
                expr: `sum by (service, ${TOPIC}) (rate(outbox_published_events_total[${RATE}]))`,
                legend: 'published {{' + TOPIC + '}}',
              },
              {
                expr: `sum by (service, ${TOPIC}) (rate(outbox_publish_failures_total[${RATE}]))`,
                legend: 'failed {{' + TOPIC + '}}',
              },
            ],
            unit: 'ops',
          },
        ],
      },
    ],
  });
}

const ENVOY = 'envoy_cluster_name!~"envoy_admin|local_app|otlp_collector|opentelemetry_collector"';

function mesh(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.mesh,
    title: 'Emporium / Mesh (Envoy)',
    description:
      'What the Envoy sidecars see of calls between services: requests, retries, timeouts, outlier ejections, circuit-breaker overflows and latency per hop.',
    serviceVariable: 'multi',
    rows: [
      {
        title: 'Calls between services',
        panels: [
          {
            title: 'Upstream requests',
            description: 'Requests per second from each sidecar to each upstream cluster.',
            queries: [
              {
                expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_total{${SVC}, ${ENVOY}}[${RATE}]))`,
                legend: '{{service}} → {{envoy_cluster_name}}',
              },
            ],
            unit: 'reqps',
          },
          {
            title: 'Retries and timeouts',
            description: 'Retried and timed-out requests per second, per hop.',
            queries: [
              {
                expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_retry{${SVC}}[${RATE}]))`,
                legend: 'retry {{service}} → {{envoy_cluster_name}}',
              },
              {
                expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_timeout{${SVC}}[${RATE}]))`,
                legend: 'timeout {{service}} → {{envoy_cluster_name}}',
              },
            ],
            unit: 'reqps',
          },
          {
            title: 'p95 latency per hop',
            description: 'The 95th percentile of upstream request time seen by the sidecar.',
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_time_bucket{${SVC}, ${ENVOY}}[${RATE}]))) / 1000`,
                legend: '{{service}} → {{envoy_cluster_name}}',
              },
            ],
            unit: 's',
          },
        ],
      },
      {
        title: 'Protection',
        panels: [
          {
            title: 'Outlier ejections',
            description: 'Hosts ejected by outlier detection (5xx or connect failures).',
            queries: [
              {
                expr: `sum by (service, envoy_cluster_name) (envoy_cluster_outlier_detection_ejections_active{${SVC}})`,
                legend: 'active {{service}} → {{envoy_cluster_name}}',
              },
              {
                expr: `sum by (service, envoy_cluster_name) (increase(envoy_cluster_outlier_detection_ejections_enforced_total{${SVC}}[${RATE}]))`,
                legend: 'enforced {{service}} → {{envoy_cluster_name}}',
              },
            ],
            unit: 'short',
          },
          {
            title: 'Circuit-breaker overflows',
            description:
              'Requests refused because a circuit breaker was full (pending requests, connections, retries).',
            queries: [
              {
                expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_pending_overflow{${SVC}}[${RATE}]))`,
                legend: 'pending {{service}} → {{envoy_cluster_name}}',
              },
              {
                expr: `sum by (service, envoy_cluster_name) (rate(envoy_cluster_upstream_rq_retry_overflow{${SVC}}[${RATE}]))`,
                legend: 'retries {{service}} → {{envoy_cluster_name}}',
              },
            ],
            unit: 'reqps',
          },
          {
            title: 'Ingress responses',
            description: 'Responses per second the sidecar’s ingress gave, by class.',
            queries: [
              {
                expr: `sum by (service, envoy_response_code_class) (rate(envoy_http_downstream_rq_xx{${SVC}, envoy_http_conn_manager_prefix="ingress"}[${RATE}]))`,
                legend: '{{service}} {{envoy_response_code_class}}xx',
              },
            ],
            unit: 'reqps',
          },
        ],
      },
    ],
  });
}

function runtime(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.runtime,
    title: 'Emporium / Node runtime',
    description: 'The Node.js processes: event loop, heap, garbage collection, handles.',
    serviceVariable: 'multi',
    rows: [
      {
        title: 'Event loop',
        panels: [
          {
            title: 'Event-loop delay',
            description: 'Mean and p99 delay of the event loop.',
            queries: [
              { expr: `nodejs_eventloop_lag_mean_seconds{${SVC}}`, legend: 'mean {{service}}' },
              { expr: `nodejs_eventloop_lag_p99_seconds{${SVC}}`, legend: 'p99 {{service}}' },
            ],
            unit: 's',
          },
          {
            title: 'Event-loop utilisation',
            description: 'Share of time the event loop was busy (1 = saturated).',
            queries: [
              {
                expr: `nodejs_eventloop_utilization_ratio{${SVC}}`,
                legend: '{{service}}',
              },
            ],
            unit: 'percentunit',
          },
          {
            title: 'CPU',
            description: 'CPU cores used by each process.',
            queries: [
              {
                expr: `rate(process_cpu_seconds_total{${SVC}}[${RATE}])`,
                legend: '{{service}}',
              },
            ],
            unit: 'short',
          },
        ],
      },
      {
        title: 'Memory',
        panels: [
          {
            title: 'Heap used',
            description: 'V8 heap in use, and its size.',
            queries: [
              { expr: `nodejs_heap_size_used_bytes{${SVC}}`, legend: 'used {{service}}' },
              { expr: `nodejs_heap_size_total_bytes{${SVC}}`, legend: 'total {{service}}' },
            ],
            unit: 'bytes',
          },
          {
            title: 'Garbage collection',
            description: 'Share of time spent in GC, by kind.',
            queries: [
              {
                expr: `sum by (service, kind) (rate(nodejs_gc_duration_seconds_sum{${SVC}}[${RATE}]))`,
                legend: '{{service}} {{kind}}',
              },
            ],
            unit: 'percentunit',
          },
          {
            title: 'Handles and RSS',
            description: 'Active handles (sockets, timers), and resident memory.',
            queries: [
              { expr: `nodejs_active_handles_total{${SVC}}`, legend: 'handles {{service}}' },
              {
                expr: `process_resident_memory_bytes{${SVC}} / 1048576`,
                legend: 'RSS MiB {{service}}',
              },
            ],
            unit: 'short',
          },
        ],
      },
    ],
  });
}

function business(): Dashboard {
  return dashboard({
    uid: DASHBOARD_UIDS.business,
    title: 'Emporium / Business',
    description: 'Orders placed, paid, shipped and cancelled; revenue; the payment decline ratio.',
    rows: [
      {
        title: 'Orders',
        panels: [
          {
            title: 'Orders by status',
            description: 'Orders placed, and orders reaching each later status, per minute.',
            queries: [
              { expr: `sum(rate(orders_placed_total[${RATE}])) * 60`, legend: 'placed' },
              {
                expr: `sum by (to) (rate(order_transitions_total{to=~"PAID|SHIPPED|CANCELLED"}[${RATE}])) * 60`,
                legend: '{{to}}',
              },
            ],
            unit: 'short',
            width: 12,
          },
          {
            title: 'Orders refused',
            description: 'Placements refused, by error code, per minute.',
            queries: [
              {
                expr: `sum by (code) (rate(orders_rejected_total[${RATE}])) * 60`,
                legend: '{{code}}',
              },
            ],
            unit: 'short',
            width: 12,
          },
          {
            title: 'Time to a final state (p95)',
            description: `The 95th percentile from placement to SHIPPED or CANCELLED; the SLO wants ${String(ORDER_SLO.objective * 100)} % within ${String(ORDER_SLO.thresholdSeconds)} s.`,
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le, status) (rate(orders_completion_duration_seconds_bucket[${RATE}])))`,
                legend: '{{status}}',
                exemplars: true,
              },
            ],
            unit: 's',
            width: 12,
          },
          {
            title: 'Notifications sent',
            description: 'Customer notifications per minute, by event.',
            queries: [
              {
                expr: `sum by (event_type) (rate(notifications_sent_total[${RATE}])) * 60`,
                legend: '{{event_type}}',
              },
            ],
            unit: 'short',
            width: 12,
          },
        ],
      },
      {
        title: 'Money',
        panels: [
          {
            title: 'Revenue',
            description: 'Totals of orders reaching PAID, per minute, in major units.',
            queries: [
              {
                expr: `sum by (currency) (rate(orders_revenue_minor_total[${RATE}])) * 60 / 100`,
                legend: '{{currency}}',
              },
            ],
            unit: 'short',
            width: 12,
          },
          {
            title: 'Payment decline ratio',
            description: 'Share of payments the provider declined.',
            queries: [
              {
                expr: errorRatio('payments_total', '', 'status="DECLINED"', ''),
                legend: 'declined',
              },
            ],
            unit: 'percentunit',
            width: 12,
          },
        ],
      },
    ],
  });
}

/** Every dashboard, in the order of the links. */
export function dashboards(): Dashboard[] {
  return [overview(), service(), kafka(), mesh(), runtime(), business()];
}
