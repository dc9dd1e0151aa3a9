import { stringify } from 'yaml';
import { ruleGroups, type RuleOptions } from './alerts.js';

/** The rule groups as a Prometheus rule file (also the `spec` of a PrometheusRule). */
export function rulesFile(options: RuleOptions = {}): string {
  // Long PromQL stays on one line (no folding), so the file diffs and greps well.
  return stringify({ groups: ruleGroups(options) }, { lineWidth: 0 });
}
