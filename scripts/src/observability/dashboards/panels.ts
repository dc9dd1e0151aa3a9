/* eslint-disable @typescript-eslint/no-deprecated -- the SDK deprecates the classic dashboard
   model for dashboardv2, but the classic JSON is what Grafana's dashboard sidecar and import take
   on every Grafana from 10 to 12; v2 needs Grafana 12's new dashboard API. */
/**
 * The pieces every dashboard is built from: its datasource variables, the `service` variable,
 * links between the dashboards, and panel builders that take PromQL and nothing else, so a
 * dashboard module reads as a list of questions and the queries that answer them.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Every Emporium dashboard carries this tag; the links between them select by it. */
export const DASHBOARD_TAG = 'emporium';

/** The Prometheus datasource, chosen per Grafana through the `prometheus` variable. */
export const PROMETHEUS = { type: 'prometheus', uid: '${prometheus}' } as const;

/** `$__rate_interval`: Grafana's rate window, at least four scrape intervals. */
export const RATE = '$__rate_interval';

/** One PromQL target of a panel; `legend` is Grafana's legend format (`{{service}}`). */
export interface Query {
  expr: string;
  legend?: string;
  /** Ask Prometheus for exemplars too (histograms whose samples carry trace ids). */
  exemplars?: boolean;
}

/** What a panel shows and how. */
export interface PanelSpec {
  title: string;
  description: string;
  queries: readonly Query[];
  /** A Grafana unit id: `reqps`, `s`, `percentunit`, `bytes`, `short`… */
  unit: string;
  /** Grid width (of 24); 8 by default. */
  width?: number;
  /** A single figure instead of a graph. */
  stat?: boolean;
  /** Links shown on the panel's data points (another dashboard, the traces). */
  links?: readonly { title: string; url: string }[];
}

const target = (query: Query, index: number): DataqueryBuilder => {
  const builder = new DataqueryBuilder()
    .expr(query.expr)
    .refId(String.fromCharCode(65 + index))
    .legendFormat(query.legend ?? '__auto');
  return query.exemplars ? builder.exemplar(true) : builder;
};

const linkBuilders = (spec: PanelSpec): DashboardLinkBuilder[] =>
  (spec.links ?? []).map((link) =>
    new DashboardLinkBuilder(link.title).type(DashboardLinkType.Link).url(link.url),
  );

/** A time-series (or stat) panel of PromQL queries. */
export function panel(spec: PanelSpec): cog.Builder<Panel> {
  const width = spec.width ?? 8;
  if (spec.stat) {
    const builder = new stat.PanelBuilder()
      .title(spec.title)
      .description(spec.description)
      .datasource(PROMETHEUS)
      .unit(spec.unit)
      .span(width)
      .height(5)
      .dataLinks(linkBuilders(spec));
    spec.queries.forEach((query, i) => builder.withTarget(target(query, i)));
    return builder;
  }
  const builder = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(PROMETHEUS)
    .unit(spec.unit)
    .span(width)
    .height(8)
    .fillOpacity(10)
    .dataLinks(linkBuilders(spec));
  spec.queries.forEach((query, i) => builder.withTarget(target(query, i)));
  return builder;
}

/** A dashboard's identity and where it sits among the others. */
export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Add the `service` variable (one or more services, all by default). */
  serviceVariable?: 'single' | 'multi';
  rows: readonly { title: string; panels: readonly PanelSpec[]; repeat?: string }[];
}

/** The `service` variable: every service the store's apps report (prom-client's label). */
export const SERVICE_VARIABLE_QUERY =
  'label_values(http_server_request_duration_seconds_count, service)';

/** Builds one dashboard with the shared variables and links. */
export function dashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(
      new DatasourceVariableBuilder('prometheus').label('Prometheus').type('prometheus'),
    )
    // Trace links (exemplars, "traces" links) open in this datasource's Explore view.
    .withVariable(new DatasourceVariableBuilder('jaeger').label('Jaeger').type('jaeger'))
    .link(
      new DashboardLinkBuilder('Emporium')
        .type(DashboardLinkType.Dashboards)
        .tags([DASHBOARD_TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
  if (spec.serviceVariable) {
    const multi = spec.serviceVariable === 'multi';
    builder.withVariable(
      new QueryVariableBuilder('service')
        .label('Service')
        .datasource(PROMETHEUS)
        .query(SERVICE_VARIABLE_QUERY)
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(multi)
        .includeAll(multi),
    );
  }
  for (const row of spec.rows) {
    const rowBuilder = new RowBuilder(row.title);
    builder.withRow(row.repeat ? rowBuilder.repeat(row.repeat) : rowBuilder);
    for (const spec of row.panels) builder.withPanel(panel(spec));
  }
  const built = builder.build();
  // Stable ids, so a regenerated dashboard diffs only where it changed.
  (built.panels ?? []).forEach((p, i) => (p.id = i + 1));
  return built;
}

/** A link to another Emporium dashboard, keeping the time range and the variables. */
export function dashboardUrl(uid: string, params = ''): string {
  return `/d/${uid}?\${__url_time_range}&\${__all_variables}${params}`;
}

/**
 * Grafana's Explore on the `jaeger` datasource, searching `service`'s traces (a Grafana
 * template string: `${service}` is the variable or the series' label, depending on context).
 */
export function tracesUrl(service: string): string {
  const left = JSON.stringify({
    datasource: '${jaeger}',
    queries: [{ refId: 'A', queryType: 'search', service }],
    range: { from: '${__from}', to: '${__to}' },
  });
  // Not URL-encoded: Grafana fills in the `${…}` variables of a link before it opens it.
  return `/explore?left=${left}`;
}
