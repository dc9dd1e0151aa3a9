export {
  CHART_DIR,
  CRDS_DIR,
  KUBE_VERSION,
  MONITORING_API,
  PROFILES,
  lintChart,
  parseObjects,
  renderChart,
  templateChart,
  valuesArgs,
  type ChartProfile,
  type KubeObject,
  type RenderOptions,
} from './chart.js';
export { podSecurityProblems, podSpec } from './pod-security.js';
export { crdValidators, objectProblems } from './validate.js';
