export {
  CHART_CALL_POLICY,
  CHART_CLIENTS,
  CHART_PORTS,
  chartEnvoyBootstrap,
  chartEnvoySettings,
  chartFiles,
  chartTopology,
} from './files.js';
export { chartDir } from './paths.js';
export {
  TABLE_END,
  TABLE_START,
  readmeWithValuesTable,
  valueDocs,
  valuesTable,
  type ValueDoc,
} from './values-docs.js';
