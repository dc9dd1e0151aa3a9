/* eslint-disable @typescript-eslint/no-deprecated -- the SDK deprecates the classic dashboard
   model for dashboardv2, but the classic JSON is what Grafana's dashboard sidecar and import take
   on every Grafana from 10 to 12; v2 needs Grafana 12's new dashboard API. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/** One query of one panel, as Grafana would send it to Prometheus. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  exemplars: boolean;
}

interface PromTarget {
  expr?: string;
  refId?: string;
  exemplar?: boolean;
}

/** Every PromQL query of every panel (rows skipped), in order. */
export function panelQueries(dashboards: readonly Dashboard[]): PanelQuery[] {
  return dashboards.flatMap((dashboard) =>
    (dashboard.panels ?? []).flatMap((panel) => {
      if (!('targets' in panel)) return [];
      return (panel.targets ?? []).flatMap((raw) => {
        const target = raw as PromTarget;
        if (target.expr === undefined) return [];
        return [
          {
            dashboard: dashboard.title ?? '',
            panel: panel.title ?? '',
            refId: target.refId ?? '',
            expr: target.expr,
            exemplars: target.exemplar === true,
          },
        ];
      });
    }),
  );
}

/**
 * Fills in Grafana's variables as Grafana would: `$__rate_interval` with `rateInterval`,
 * `$__range` with the time range shown (`range`), and
 * each dashboard variable (`$service`) with its value, a multi-value one as `a|b|c` (the
 * queries match such variables with `=~`). An unknown variable is left as it is, so the
 * query fails to parse and the check names it.
 */
export function resolveVariables(
  expr: string,
  variables: Readonly<Record<string, string | readonly string[]>>,
  rateInterval: string,
  range = '1h',
): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__range', range)
    .replace(/\$(\w+)/g, (whole, name: string) => {
      const value = variables[name];
      if (value === undefined) return whole;
      return typeof value === 'string' ? value : value.join('|');
    });
}
