/**
 * Operators' view as code: the Grafana dashboards, the SLOs, the alert rules, and what
 * `npm run dashboards:check` needs to run every panel's queries.
 */
export { DASHBOARD_UIDS, dashboards } from './dashboards/catalogue.js';
export { panelQueries, resolveVariables, type PanelQuery } from './dashboards/queries.js';
export {
  DEFAULT_ALERT_SETTINGS,
  DEFAULT_RUNBOOK_BASE_URL,
  alertNames,
  ruleGroups,
  runbookFile,
  type AlertSettings,
  type RuleOptions,
} from './rules/alerts.js';
export { rulesFile } from './rules/file.js';
export {
  BURN_RATES,
  GATEWAY_SLOS,
  ORDER_SLO,
  SLOS,
  SLO_WINDOWS,
  type Rule,
  type RuleGroup,
  type Slo,
} from './rules/slos.js';
export { ALERT_CASES, promtoolTests, type AlertCase } from './rules/unit-tests.js';
export {
  checkPanels,
  exemplarTraces,
  type CheckOptions,
  type ExemplarTrace,
  type PanelResult,
} from './check.js';
