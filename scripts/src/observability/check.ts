/**
 * The proof of the dashboards without a Grafana: every panel's queries, with the dashboard
 * variables filled in as Grafana would, run as range queries against a real Prometheus; a
 * panel has data when one of its queries returns a finite point.
 */
import { dashboards } from './dashboards/catalogue.js';
import { panelQueries, resolveVariables, type PanelQuery } from './dashboards/queries.js';

/** One panel's outcome. */
export interface PanelResult {
  dashboard: string;
  panel: string;
  /** Series with at least one finite point, over all its queries. */
  series: number;
  /** The largest finite value seen (the fault checks read it). */
  max: number;
  /** Query errors, by refId. */
  errors: string[];
  /** The resolved queries, for the report. */
  queries: PanelQuery[];
}

/** Options of {@link checkPanels}. */
export interface CheckOptions {
  prometheusUrl: string;
  /** Values of the dashboards' variables (`service`: every service). */
  variables: Readonly<Record<string, string | readonly string[]>>;
  /** What `$__rate_interval` becomes: at least four scrape intervals. */
  rateInterval: string;
  /** What `$__range` becomes: the time range the panels show, e.g. `90s`. */
  range: string;
  /** The time range the panels show. */
  start: Date;
  end: Date;
  /** Seconds between points. */
  stepSeconds: number;
}

interface RangeResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

/** Runs one range query; throws with Prometheus' error. */
async function rangeQuery(options: CheckOptions, expr: string): Promise<RangeResponse['data']> {
  const params = new URLSearchParams({
    query: expr,
    start: String(options.start.getTime() / 1000),
    end: String(options.end.getTime() / 1000),
    step: String(options.stepSeconds),
  });
  const response = await fetch(`${options.prometheusUrl}/api/v1/query_range`, {
    method: 'POST',
    body: params,
  });
  const body = (await response.json()) as RangeResponse;
  if (body.status !== 'success') throw new Error(body.error ?? `HTTP ${String(response.status)}`);
  return body.data;
}

/** Every panel of every dashboard, queried. */
export async function checkPanels(options: CheckOptions): Promise<PanelResult[]> {
  const queries = panelQueries(dashboards()).map((query) => ({
    ...query,
    expr: resolveVariables(query.expr, options.variables, options.rateInterval, options.range),
  }));
  const results = new Map<string, PanelResult>();
  for (const query of queries) {
    const key = `${query.dashboard}\u0000${query.panel}`;
    const result = results.get(key) ?? {
      dashboard: query.dashboard,
      panel: query.panel,
      series: 0,
      max: Number.NEGATIVE_INFINITY,
      errors: [],
      queries: [],
    };
    results.set(key, result);
    result.queries.push(query);
    try {
      const data = await rangeQuery(options, query.expr);
      for (const series of data?.result ?? []) {
        const finite = series.values.map(([, v]) => Number(v)).filter(Number.isFinite);
        if (finite.length === 0) continue;
        result.series += 1;
        result.max = Math.max(result.max, ...finite);
      }
    } catch (error) {
      result.errors.push(
        `${query.refId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return [...results.values()];
}

/** A trace id found on an exemplar of one of the panels' queries. */
export interface ExemplarTrace {
  panel: string;
  traceId: string;
}

interface ExemplarResponse {
  status: 'success' | 'error';
  error?: string;
  data?: {
    seriesLabels: Record<string, string>;
    exemplars: { labels: Record<string, string> }[];
  }[];
}

/** The trace ids on the exemplars of the panels that ask for them, newest last. */
export async function exemplarTraces(options: CheckOptions): Promise<ExemplarTrace[]> {
  const found: ExemplarTrace[] = [];
  for (const query of panelQueries(dashboards()).filter((q) => q.exemplars)) {
    const params = new URLSearchParams({
      query: resolveVariables(query.expr, options.variables, options.rateInterval, options.range),
      start: String(options.start.getTime() / 1000),
      end: String(options.end.getTime() / 1000),
    });
    const response = await fetch(`${options.prometheusUrl}/api/v1/query_exemplars`, {
      method: 'POST',
      body: params,
    });
    const body = (await response.json()) as ExemplarResponse;
    if (body.status !== 'success') throw new Error(`${query.panel}: ${body.error ?? 'failed'}`);
    for (const series of body.data ?? []) {
      for (const exemplar of series.exemplars) {
        const traceId = exemplar.labels.trace_id;
        if (traceId) found.push({ panel: query.panel, traceId });
      }
    }
  }
  return found;
}
