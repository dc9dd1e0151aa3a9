/**
 * Service level objectives as code. Each SLO is a ratio of bad events to all events; from one
 * definition come its recording rules (the error ratio over every window the alerts and the
 * dashboards need) and its multi-window, multi-burn-rate alerts (the Google SRE workbook's
 * "alerting on SLOs", table 5-8: a fast burn pages, a slow burn opens a ticket).
 */

/** One SLO: `bad / total` events, to stay under `1 - objective` over 30 days. */
export interface Slo {
  /** Kebab-case, the `slo` label of its rules and the runbook's name. */
  name: string;
  /** What it promises, in words (the alert's description starts with it). */
  promise: string;
  /** 0.999 for 99.9 %. */
  objective: number;
  /** PromQL of the rate of bad events over `[$window]`, summed to one series. */
  bad: string;
  /** PromQL of the rate of all events over `[$window]`, summed to one series. */
  total: string;
  /** Prefix of its recording rules: `<prefix>:ratio_rate5m` … `<prefix>:ratio_rate30d`. */
  recordPrefix: string;
  /** The alert's name; the burn-rate severity is a label. */
  alert: string;
  /** Kept on the rules (e.g. the service the SLO belongs to). */
  labels: Record<string, string>;
}

/** `$window` in an SLO's queries stands for each window in turn. */
const WINDOW = '$window';

/** The windows recorded: those of the burn-rate alerts, and 30 d for the budget left. */
export const SLO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'] as const;

/**
 * The burn-rate alerts: fire when both the long and the short window burn faster than
 * `factor` × the budget rate (the short window makes it resolve soon after the burn stops).
 * 14.4 over 1 h spends 2 % of a 30-day budget; 6 over 6 h 5 %; 3 over 1 d 10 %; 1 over 3 d 10 %.
 */
export const BURN_RATES = [
  { long: '1h', short: '5m', factor: 14.4, severity: 'critical', for: '2m' },
  { long: '6h', short: '30m', factor: 6, severity: 'critical', for: '15m' },
  { long: '1d', short: '2h', factor: 3, severity: 'warning', for: '1h' },
  { long: '3d', short: '6h', factor: 1, severity: 'warning', for: '3h' },
] as const;

const GATEWAY_HTTP = 'http_server_request_duration_seconds';

/** The gateway's SLOs: what a shopper sees of the store. */
export const GATEWAY_SLOS = {
  availability: {
    name: 'gateway-availability',
    promise:
      '99.9 % of the gateway’s requests are answered without a server error (5xx) over 30 days.',
    objective: 0.999,
    // `or … * 0`: no 5xx at all is a ratio of 0, not a missing series (and an empty budget panel).
    bad: `sum by (namespace) (rate(${GATEWAY_HTTP}_count{service="gateway", http_response_status_code=~"5.."}[${WINDOW}])) or sum by (namespace) (rate(${GATEWAY_HTTP}_count{service="gateway"}[${WINDOW}])) * 0`,
    total: `sum by (namespace) (rate(${GATEWAY_HTTP}_count{service="gateway"}[${WINDOW}]))`,
    recordPrefix: 'slo:gateway_availability_errors',
    alert: 'EmporiumGatewayAvailabilityBudgetBurn',
    labels: { service: 'gateway' },
  },
  latency: {
    name: 'gateway-latency',
    promise: '99 % of the gateway’s requests are answered within 500 ms over 30 days.',
    objective: 0.99,
    thresholdSeconds: 0.5,
    // Requests slower than 500 ms: all of them minus those in the 0.5 s bucket.
    bad: `sum by (namespace) (rate(${GATEWAY_HTTP}_count{service="gateway"}[${WINDOW}])) - sum by (namespace) (rate(${GATEWAY_HTTP}_bucket{service="gateway", le=~"0[.]50*"}[${WINDOW}]))`,
    total: `sum by (namespace) (rate(${GATEWAY_HTTP}_count{service="gateway"}[${WINDOW}]))`,
    recordPrefix: 'slo:gateway_latency_errors',
    alert: 'EmporiumGatewayLatencyBudgetBurn',
    labels: { service: 'gateway' },
  },
} as const satisfies Record<string, Slo & { thresholdSeconds?: number }>;

/** The order pipeline: an order reaches SHIPPED or CANCELLED within 60 s of its placement. */
export const ORDER_SLO = {
  name: 'order-completion',
  promise: '99 % of orders reach a final state (SHIPPED or CANCELLED) within 60 s of placement.',
  objective: 0.99,
  thresholdSeconds: 60,
  bad: `sum by (namespace) (rate(orders_completion_duration_seconds_count[${WINDOW}])) - sum by (namespace) (rate(orders_completion_duration_seconds_bucket{le=~"60([.]0*)?"}[${WINDOW}]))`,
  total: `sum by (namespace) (rate(orders_completion_duration_seconds_count[${WINDOW}]))`,
  recordPrefix: 'slo:order_completion_errors',
  alert: 'EmporiumOrderCompletionBudgetBurn',
  labels: { service: 'orders' },
} as const satisfies Slo & { thresholdSeconds: number };

/** Every SLO. */
export const SLOS: readonly Slo[] = [GATEWAY_SLOS.availability, GATEWAY_SLOS.latency, ORDER_SLO];

/** A Prometheus rule (recording or alerting), as in a rule file or a PrometheusRule. */
export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A named group of rules. */
export interface RuleGroup {
  name: string;
  rules: Rule[];
}

const inWindow = (query: string, window: string): string => query.replaceAll(WINDOW, window);

/** The SLO's recording rules: its error ratio over each of {@link SLO_WINDOWS}. */
export function sloRecordingRules(slo: Slo): Rule[] {
  return SLO_WINDOWS.map((window) => ({
    record: `${slo.recordPrefix}:ratio_rate${window}`,
    // No traffic gives NaN (0/0), which compares false: no traffic burns no budget.
    expr: `(${inWindow(slo.bad, window)}) / (${inWindow(slo.total, window)})`,
    labels: { slo: slo.name, ...slo.labels },
  }));
}

/** The SLO's burn-rate alerts, one per row of {@link BURN_RATES}. */
export function sloAlerts(slo: Slo, runbook: (name: string) => string): Rule[] {
  const budget = Number((1 - slo.objective).toPrecision(6));
  return BURN_RATES.map((burn) => ({
    alert: slo.alert,
    expr: [
      `${slo.recordPrefix}:ratio_rate${burn.long} > ${String(burn.factor)} * ${String(budget)}`,
      `and`,
      `${slo.recordPrefix}:ratio_rate${burn.short} > ${String(burn.factor)} * ${String(budget)}`,
    ].join('\n'),
    for: burn.for,
    labels: {
      severity: burn.severity,
      slo: slo.name,
      long_window: burn.long,
      ...slo.labels,
    },
    annotations: {
      summary: `${slo.name}: error budget burning ${String(burn.factor)}× too fast (${burn.long})`,
      description: `${slo.promise} Over the last ${burn.long} the error ratio is {{ $value | humanizePercentage }}, ${String(burn.factor)}× the rate that would spend the whole budget in 30 days; at this pace the budget is gone in ${budgetGoneIn(burn.factor)}.`,
      runbook_url: runbook(slo.alert),
    },
  }));
}

/** "50 h" for a burn rate of 14.4: 30 days divided by the factor. */
function budgetGoneIn(factor: number): string {
  const hours = (30 * 24) / factor;
  return hours >= 48 ? `${String(Math.round(hours / 24))} days` : `${String(Math.round(hours))} h`;
}
