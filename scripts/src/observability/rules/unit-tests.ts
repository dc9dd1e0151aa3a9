/**
 * `promtool test rules` cases for every alert: each fires on the series that should fire it and
 * stays silent on the ones that should not. The cases are data; {@link promtoolTests} turns them
 * into promtool's test file, with each expected alert's annotations rendered from the rule's own
 * templates (labels and the value filled in), so a change of wording needs no edit here while a
 * change of labels, value or timing fails.
 */
import type { Rule, RuleGroup } from './slos.js';

/** One alert's test: series, and at which minutes which alerts are expected. */
export interface AlertCase {
  alert: string;
  /** What the case shows, in words (promtool's test name). */
  name: string;
  /** promtool `input_series`: a series selector and its values in expanding notation. */
  series: Record<string, string>;
  /** Evaluations: at `minute`, the alerts expected (empty: silent). */
  expect: {
    minute: number;
    alerts: {
      labels: Record<string, string>;
      /** `{{ $value }}` as Prometheus prints it, and as humanizePercentage / humanizeDuration do. */
      value?: string;
    }[];
  }[];
}

const lag = (group: string, topic: string, partition = '0'): string =>
  `messaging_consumer_lag{service="${group}", messaging_consumer_group_name="${group}", messaging_destination_name="${topic}", messaging_destination_partition_id="${partition}"}`;
const gatewayCount = (status: string): string =>
  `http_server_request_duration_seconds_count{service="gateway", http_response_status_code="${status}"}`;
const envoy = (metric: string, cluster: string): string =>
  `${metric}{service="gateway", envoy_cluster_name="${cluster}"}`;

/** The cases, at least one firing and one silent evaluation per alert. */
export const ALERT_CASES: readonly AlertCase[] = [
  {
    alert: 'EmporiumTargetDown',
    name: 'a scrape target down for 5 minutes pages; one that stays up does not',
    series: {
      'up{job="orders", instance="10.0.0.1:8081"}': '1 0x15',
      'up{job="catalog", instance="10.0.0.2:8081"}': '1x15',
      'up{job="something-else", instance="10.0.0.3:80"}': '0x15',
    },
    expect: [
      { minute: 4, alerts: [] },
      {
        minute: 10,
        alerts: [{ labels: { severity: 'critical', job: 'orders', instance: '10.0.0.1:8081' } }],
      },
    ],
  },
  {
    alert: 'EmporiumHighErrorRatio',
    name: '10 % 5xx for 10 minutes fires; 1 % does not',
    series: {
      'http_server_request_duration_seconds_count{service="orders", http_response_status_code="500"}':
        '0+10x40',
      'http_server_request_duration_seconds_count{service="orders", http_response_status_code="200"}':
        '0+90x40',
      'http_server_request_duration_seconds_count{service="cart", http_response_status_code="500"}':
        '0+1x40',
      'http_server_request_duration_seconds_count{service="cart", http_response_status_code="200"}':
        '0+99x40',
    },
    expect: [
      { minute: 8, alerts: [] },
      {
        minute: 20,
        alerts: [{ labels: { severity: 'warning', service: 'orders' }, value: '10%' }],
      },
    ],
  },
  {
    alert: 'EmporiumPodRestarting',
    name: 'a container restarting every few minutes fires; a stable one does not',
    series: {
      'kube_pod_container_status_restarts_total{namespace="shop", pod="orders-7d9f-x", container="orders"}':
        '0+1x30',
      'kube_pod_container_status_restarts_total{namespace="shop", pod="cart-5c4b-y", container="cart"}':
        '2x30',
    },
    expect: [
      { minute: 1, alerts: [] },
      {
        minute: 20,
        alerts: [
          {
            labels: {
              severity: 'warning',
              namespace: 'shop',
              pod: 'orders-7d9f-x',
              container: 'orders',
            },
            value: '15',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumConsumerLag',
    name: 'a group 2000 records behind for 10 minutes fires; a group 10 behind does not',
    series: {
      [lag('payments', 'orders.v1')]: '2000x20',
      [lag('shipping', 'payments.v1')]: '10x20',
    },
    expect: [
      { minute: 5, alerts: [] },
      {
        minute: 15,
        alerts: [
          {
            labels: {
              severity: 'warning',
              messaging_consumer_group_name: 'payments',
              messaging_destination_name: 'orders.v1',
            },
            value: '2000',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumConsumerStalled',
    name: 'a group whose consumers vanish fires; a group that keeps reporting does not',
    series: {
      // payments stops at minute 10: its last sample is followed by a staleness marker.
      [lag('payments', 'orders.v1')]: '3x10 stale',
      [lag('shipping', 'payments.v1')]: '0x30',
    },
    expect: [
      { minute: 9, alerts: [] },
      {
        minute: 20,
        alerts: [
          {
            labels: {
              severity: 'critical',
              messaging_consumer_group_name: 'payments',
              messaging_destination_name: 'orders.v1',
            },
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumDeadLetters',
    name: 'a dead-lettered record fires at once; a group with none does not',
    series: {
      'messaging_dead_lettered_messages_total{service="payments", messaging_consumer_group_name="payments", messaging_destination_name="orders.v1", reason="handler-failed"}':
        '0x5 2x20',
      'messaging_dead_lettered_messages_total{service="shipping", messaging_consumer_group_name="shipping", messaging_destination_name="payments.v1", reason="handler-failed"}':
        '0x25',
    },
    expect: [
      { minute: 4, alerts: [] },
      {
        minute: 10,
        alerts: [
          {
            labels: {
              severity: 'warning',
              service: 'payments',
              messaging_consumer_group_name: 'payments',
              messaging_destination_name: 'orders.v1',
              reason: 'handler-failed',
            },
            value: '2',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumOutboxBacklogAge',
    name: 'an oldest event older than 2 minutes for 2 minutes fires; a fresh backlog does not',
    series: {
      'outbox_oldest_pending_age_seconds{service="orders", collection="orders"}': '0+60x10',
      'outbox_oldest_pending_age_seconds{service="catalog", collection="products"}': '5x10',
    },
    expect: [
      { minute: 3, alerts: [] },
      {
        minute: 6,
        alerts: [
          {
            labels: { severity: 'warning', service: 'orders', collection: 'orders' },
            value: '6m 0s',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumOutboxPublishFailures',
    name: 'publish failures for 10 minutes fire; a topic without failures does not',
    series: {
      'outbox_publish_failures_total{service="orders", collection="orders", messaging_destination_name="orders.v1"}':
        '0+6x30',
      'outbox_publish_failures_total{service="catalog", collection="products", messaging_destination_name="catalog.v1"}':
        '1x30',
    },
    expect: [
      { minute: 8, alerts: [] },
      {
        minute: 20,
        alerts: [
          {
            labels: {
              severity: 'warning',
              service: 'orders',
              messaging_destination_name: 'orders.v1',
            },
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumUpstreamEjected',
    name: 'an upstream kept ejected for 5 minutes fires; one never ejected does not',
    series: {
      [envoy('envoy_cluster_outlier_detection_ejections_active', 'orders')]: '1x10',
      [envoy('envoy_cluster_outlier_detection_ejections_active', 'catalog')]: '0x10',
    },
    expect: [
      { minute: 3, alerts: [] },
      {
        minute: 8,
        alerts: [
          { labels: { severity: 'warning', service: 'gateway', envoy_cluster_name: 'orders' } },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumCircuitBreakerOverflow',
    name: 'requests refused by a full circuit breaker for 5 minutes fire; no overflow does not',
    series: {
      [envoy('envoy_cluster_upstream_rq_pending_overflow', 'orders')]: '0+60x15',
      [envoy('envoy_cluster_upstream_cx_overflow', 'orders')]: '0x15',
      [envoy('envoy_cluster_upstream_rq_retry_overflow', 'orders')]: '0x15',
      [envoy('envoy_cluster_upstream_rq_pending_overflow', 'catalog')]: '0x15',
      [envoy('envoy_cluster_upstream_cx_overflow', 'catalog')]: '0x15',
      [envoy('envoy_cluster_upstream_rq_retry_overflow', 'catalog')]: '0x15',
    },
    expect: [
      { minute: 3, alerts: [] },
      {
        minute: 12,
        alerts: [
          {
            labels: { severity: 'warning', service: 'gateway', envoy_cluster_name: 'orders' },
            value: '1',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumGatewayAvailabilityBudgetBurn',
    name: '2 % 5xx at the gateway pages within minutes (14.4× over 1 h); 0.05 % does not',
    series: {
      [gatewayCount('500')]: '0+2x30',
      [gatewayCount('200')]: '0+98x30',
    },
    expect: [
      {
        // The 1 h row pages after its 2 minutes; the 6 h row waits its 15.
        minute: 12,
        alerts: [
          {
            labels: {
              severity: 'critical',
              slo: 'gateway-availability',
              long_window: '1h',
              service: 'gateway',
            },
            value: '2%',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumGatewayAvailabilityBudgetBurn',
    name: '0.05 % 5xx at the gateway is within the budget',
    series: {
      [gatewayCount('500')]: '0+1x30',
      [gatewayCount('200')]: '0+1999x30',
    },
    expect: [{ minute: 20, alerts: [] }],
  },
  {
    alert: 'EmporiumGatewayLatencyBudgetBurn',
    name: '20 % of gateway requests slower than 500 ms page; 0.5 % do not',
    series: {
      'http_server_request_duration_seconds_bucket{service="gateway", le="0.5"}': '0+80x30',
      [gatewayCount('200')]: '0+100x30',
    },
    expect: [
      {
        // The 1 h row pages after its 2 minutes; the 6 h row waits its 15.
        minute: 12,
        alerts: [
          {
            labels: {
              severity: 'critical',
              slo: 'gateway-latency',
              long_window: '1h',
              service: 'gateway',
            },
            value: '20%',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumGatewayLatencyBudgetBurn',
    name: '0.5 % of gateway requests slower than 500 ms is within the budget',
    series: {
      'http_server_request_duration_seconds_bucket{service="gateway", le="0.5"}': '0+995x30',
      [gatewayCount('200')]: '0+1000x30',
    },
    expect: [{ minute: 20, alerts: [] }],
  },
  {
    alert: 'EmporiumOrderCompletionBudgetBurn',
    name: 'a quarter of orders taking over 60 s pages; all within 60 s does not',
    series: {
      // Prometheus 3 writes classic histogram bounds as floats: le="60.0".
      'orders_completion_duration_seconds_bucket{service="orders", status="SHIPPED", le="60.0"}':
        '0+3x30',
      'orders_completion_duration_seconds_count{service="orders", status="SHIPPED"}': '0+4x30',
    },
    expect: [
      {
        // The 1 h row pages after its 2 minutes; the 6 h row waits its 15.
        minute: 12,
        alerts: [
          {
            labels: {
              severity: 'critical',
              slo: 'order-completion',
              long_window: '1h',
              service: 'orders',
            },
            value: '25%',
          },
        ],
      },
    ],
  },
  {
    alert: 'EmporiumOrderCompletionBudgetBurn',
    name: 'orders all final within 60 s spend no budget',
    series: {
      // …and as Prometheus 2 wrote them: the rules match both.
      'orders_completion_duration_seconds_bucket{service="orders", status="SHIPPED", le="60"}':
        '0+4x30',
      'orders_completion_duration_seconds_count{service="orders", status="SHIPPED"}': '0+4x30',
    },
    expect: [{ minute: 20, alerts: [] }],
  },
];

/** Fills in `{{ $labels.x }}` and `{{ $value }}` (with or without a humanize function). */
function render(template: string, labels: Record<string, string>, value: string): string {
  return template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '')
    .replace(/\{\{ \$value(?: \| humanize\w*)? \}\}/g, value);
}

/** The rule an expected alert comes from: by name and, for burn rates, its long window. */
function ruleFor(groups: readonly RuleGroup[], alert: string, labels: Record<string, string>) {
  const rules = groups.flatMap((group) => group.rules).filter((rule) => rule.alert === alert);
  const rule = rules.find((r: Rule) =>
    Object.entries(r.labels ?? {}).every(([key, value]) => labels[key] === value),
  );
  if (!rule) throw new Error(`no rule ${alert} with labels ${JSON.stringify(labels)}`);
  return rule;
}

/** promtool's test file for `rulesFile` (a path relative to the test file). */
export function promtoolTests(groups: readonly RuleGroup[], rulesFile: string): unknown {
  return {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: ALERT_CASES.map((c) => ({
      name: `${c.alert}: ${c.name}`,
      interval: '1m',
      input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
      alert_rule_test: c.expect.map((at) => ({
        eval_time: `${String(at.minute)}m`,
        alertname: c.alert,
        exp_alerts: at.alerts.map((expected) => {
          const rule = ruleFor(groups, c.alert, expected.labels);
          const annotations = Object.fromEntries(
            Object.entries(rule.annotations ?? {}).map(([key, template]) => [
              key,
              render(template, expected.labels, expected.value ?? ''),
            ]),
          );
          return { exp_labels: expected.labels, exp_annotations: annotations };
        }),
      })),
    })),
  };
}
