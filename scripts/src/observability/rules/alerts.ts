/**
 * The store's alert rules, generated from code so the chart, promtool and the live alert test
 * read one definition. Every alert has a summary, a description, a severity and a runbook in
 * docs/runbooks/<alert>.md.
 */
import { SERVICES } from '../../stack/topology.js';
import { SLOS, sloAlerts, sloRecordingRules, type Rule, type RuleGroup } from './slos.js';

/** Where the runbooks are published; the chart's `monitoring.rules.runbookBaseUrl` replaces it. */
export const DEFAULT_RUNBOOK_BASE_URL =
  'https://github.com/emporium-store/emporium/blob/main/docs/runbooks';

/** Thresholds and durations of the alerts; the live alert test shortens them. */
export interface AlertSettings {
  /** How long a target is down before it pages. */
  targetDownFor: string;
  /** Records behind the high watermark that count as lag. */
  consumerLagRecords: number;
  /** How long the lag must last. */
  consumerLagFor: string;
  /** Age of the oldest unpublished outbox event, in seconds. */
  outboxAgeSeconds: number;
  /** 5xx share of a service's requests. */
  errorRatio: number;
  /** Window of rates and increases (at least four scrape intervals). */
  window: string;
  /** Container restarts in `window` × 3 (Kubernetes only, from kube-state-metrics). */
  restarts: number;
}

/** The settings the chart ships. */
export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  targetDownFor: '5m',
  consumerLagRecords: 1000,
  consumerLagFor: '10m',
  outboxAgeSeconds: 120,
  errorRatio: 0.05,
  window: '5m',
  restarts: 3,
};

/** The file name of an alert's runbook: EmporiumConsumerLag → emporium-consumer-lag.md. */
export function runbookFile(alert: string): string {
  return `${alert.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}.md`;
}

/** Options of {@link ruleGroups}. */
export interface RuleOptions {
  settings?: Partial<AlertSettings>;
  runbookBaseUrl?: string;
}

/** Every rule group of the store: the SLOs' recording rules and all alerts. */
export function ruleGroups(options: RuleOptions = {}): RuleGroup[] {
  const s = { ...DEFAULT_ALERT_SETTINGS, ...options.settings };
  const base = options.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL;
  const runbook = (alert: string): string => `${base}/${runbookFile(alert)}`;
  const jobs = SERVICES.map((service) => service.name).join('|');
  const alert = (
    name: string,
    severity: 'critical' | 'warning',
    rule: { expr: string; for?: string; summary: string; description: string },
  ): Rule => ({
    alert: name,
    expr: rule.expr,
    ...(rule.for ? { for: rule.for } : {}),
    labels: { severity },
    annotations: {
      summary: rule.summary,
      description: rule.description,
      runbook_url: runbook(name),
    },
  });
  const w = s.window;
  return [
    { name: 'emporium.slo.recording', rules: SLOS.flatMap(sloRecordingRules) },
    { name: 'emporium.slo.alerts', rules: SLOS.flatMap((slo) => sloAlerts(slo, runbook)) },
    {
      name: 'emporium.availability',
      rules: [
        alert('EmporiumTargetDown', 'critical', {
          expr: `up{job=~"${jobs}"} == 0`,
          for: s.targetDownFor,
          summary: '{{ $labels.job }} at {{ $labels.instance }} cannot be scraped',
          description: `Prometheus has failed to scrape {{ $labels.job }} at {{ $labels.instance }} for ${s.targetDownFor}: the process is down, not ready to serve /metrics, or unreachable.`,
        }),
        alert('EmporiumHighErrorRatio', 'warning', {
          expr: [
            `sum by (namespace, service) (rate(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}[${w}]))`,
            `  /`,
            `sum by (namespace, service) (rate(http_server_request_duration_seconds_count[${w}]))`,
            `  > ${String(s.errorRatio)}`,
          ].join('\n'),
          for: '10m',
          summary: `{{ $labels.service }} answers more than ${String(s.errorRatio * 100)} % of requests with 5xx`,
          description: `{{ $labels.service }}: {{ $value | humanizePercentage }} of requests failed with a 5xx over ${w}.`,
        }),
        alert('EmporiumPodRestarting', 'warning', {
          expr: `increase(kube_pod_container_status_restarts_total{container=~"${jobs}|envoy"}[15m]) >= ${String(s.restarts)}`,
          summary: '{{ $labels.pod }} ({{ $labels.container }}) keeps restarting',
          description:
            'The container {{ $labels.container }} of {{ $labels.pod }} restarted {{ $value }} times in 15 minutes (kube-state-metrics).',
        }),
      ],
    },
    {
      name: 'emporium.messaging',
      rules: [
        alert('EmporiumConsumerLag', 'warning', {
          expr: `sum by (namespace, messaging_consumer_group_name, messaging_destination_name) (messaging_consumer_lag) > ${String(s.consumerLagRecords)}`,
          for: s.consumerLagFor,
          summary:
            '{{ $labels.messaging_consumer_group_name }} is {{ $value }} records behind on {{ $labels.messaging_destination_name }}',
          description: `The consumer group has stayed more than ${String(s.consumerLagRecords)} records behind for ${s.consumerLagFor}: its handlers are slow or failing, or it has too few replicas.`,
        }),
        alert('EmporiumConsumerStalled', 'critical', {
          // Records keep arriving for a group whose consumers report nothing: they are gone
          // (crashed, scaled to zero), so their own lag gauge is gone with them.
          expr: [
            `sum by (namespace, messaging_consumer_group_name, messaging_destination_name) (`,
            `  max_over_time(messaging_consumer_lag[1h])`,
            `) unless on (namespace, messaging_consumer_group_name, messaging_destination_name)`,
            `sum by (namespace, messaging_consumer_group_name, messaging_destination_name) (messaging_consumer_lag)`,
          ].join('\n'),
          for: s.targetDownFor,
          summary:
            '{{ $labels.messaging_consumer_group_name }} stopped consuming {{ $labels.messaging_destination_name }}',
          description: `No consumer of the group has reported its lag for ${s.targetDownFor}, though it did in the last hour: the group's consumers are down and its records pile up.`,
        }),
        alert('EmporiumDeadLetters', 'warning', {
          expr: `sum by (namespace, service, messaging_consumer_group_name, messaging_destination_name, reason) (increase(messaging_dead_lettered_messages_total[15m])) > 0`,
          summary:
            '{{ $labels.messaging_consumer_group_name }} dead-lettered records of {{ $labels.messaging_destination_name }}',
          description:
            '{{ $value }} records went to {{ $labels.messaging_consumer_group_name }}.dlq ({{ $labels.reason }}) in 15 minutes: inspect them, fix the cause, replay.',
        }),
        alert('EmporiumOutboxBacklogAge', 'warning', {
          expr: `max by (namespace, service, collection) (outbox_oldest_pending_age_seconds) > ${String(s.outboxAgeSeconds)}`,
          for: '2m',
          summary:
            '{{ $labels.service }}’s oldest unpublished event is {{ $value | humanizeDuration }} old',
          description: `Events of {{ $labels.collection }} have waited more than ${String(s.outboxAgeSeconds)} s to reach Kafka: the relay leader is missing or Kafka refuses them. Orders are still accepted; the saga is late.`,
        }),
        alert('EmporiumOutboxPublishFailures', 'warning', {
          expr: `sum by (namespace, service, messaging_destination_name) (rate(outbox_publish_failures_total[${w}])) > 0`,
          for: '10m',
          summary:
            '{{ $labels.service }} keeps failing to publish to {{ $labels.messaging_destination_name }}',
          description:
            'The outbox relay retries every failed publish; events are late until Kafka takes them.',
        }),
      ],
    },
    {
      name: 'emporium.mesh',
      rules: [
        alert('EmporiumUpstreamEjected', 'warning', {
          expr: 'sum by (namespace, service, envoy_cluster_name) (envoy_cluster_outlier_detection_ejections_active) > 0',
          for: '5m',
          summary:
            '{{ $labels.service }}’s sidecar keeps hosts of {{ $labels.envoy_cluster_name }} ejected',
          description:
            'Outlier detection has ejected pods of {{ $labels.envoy_cluster_name }} for 5 minutes: they answer 5xx or refuse connections.',
        }),
        alert('EmporiumCircuitBreakerOverflow', 'warning', {
          expr: [
            `sum by (namespace, service, envoy_cluster_name) (`,
            `  rate(envoy_cluster_upstream_rq_pending_overflow[${w}])`,
            `  + rate(envoy_cluster_upstream_cx_overflow[${w}])`,
            `  + rate(envoy_cluster_upstream_rq_retry_overflow[${w}])`,
            `) > 0`,
          ].join('\n'),
          for: '5m',
          summary:
            '{{ $labels.service }}’s sidecar refuses calls to {{ $labels.envoy_cluster_name }}: circuit breaker full',
          description:
            '{{ $value }} calls per second are refused because a circuit breaker of {{ $labels.envoy_cluster_name }} is full (pending requests, connections or retries).',
        }),
      ],
    },
  ];
}

/** Every alert name, once (an SLO's burn-rate rows share one). */
export function alertNames(groups: readonly RuleGroup[] = ruleGroups()): string[] {
  const names = groups.flatMap((group) => group.rules.flatMap((rule) => rule.alert ?? []));
  return [...new Set(names)];
}
