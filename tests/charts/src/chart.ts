import { join } from 'node:path';
import { helm, repoRoot, SHARED_CRDS_DIR } from '@emporium/harness';
import { parseAllDocuments } from 'yaml';

/** The application chart's folder. */
export const CHART_DIR = join(repoRoot(), 'charts', 'emporium');

/** The upstream CRDs the chart's custom objects are checked against (../shared/crds). */
export const CRDS_DIR = SHARED_CRDS_DIR;

/** The Kubernetes version charts are rendered for: the control plane the project builds. */
export const KUBE_VERSION = '1.37.0';

/** The Prometheus Operator's API, announced so the chart renders its monitors and rules. */
export const MONITORING_API = 'monitoring.coreos.com/v1/ServiceMonitor';

/** A way to install the chart: values files (relative to the chart) and `--set` pairs. */
export interface ChartProfile {
  readonly name: string;
  readonly valuesFiles: readonly string[];
  readonly set?: Readonly<Record<string, string>>;
}

/** The profiles the tests render and a control plane would install, one per ci/*-values.yaml. */
export const PROFILES: readonly ChartProfile[] = [
  { name: 'minimal', valuesFiles: ['ci/minimal-values.yaml'] },
  { name: 'kind', valuesFiles: ['values-kind.yaml', 'ci/kind-values.yaml'] },
  { name: 'eks', valuesFiles: ['values-eks.yaml', 'ci/eks-values.yaml'] },
  { name: 'appmesh', valuesFiles: ['ci/appmesh-values.yaml'] },
  { name: 'lattice', valuesFiles: ['ci/lattice-values.yaml'] },
  { name: 'none', valuesFiles: ['ci/none-values.yaml'] },
];

/** A rendered Kubernetes object, as plain data. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<
    string,
    unknown
  >;
  readonly [field: string]: unknown;
}

/** Options of {@link renderChart}. */
export interface RenderOptions {
  /** Release name (default `emporium`). */
  readonly release?: string;
  /** Namespace (default `emporium`). */
  readonly namespace?: string;
  /** Announce the Prometheus Operator's CRDs (default true). */
  readonly monitoring?: boolean;
  /** Another copy of the chart (default {@link CHART_DIR}). */
  readonly chartDir?: string;
  /** Render with the pinned Helm 3 instead of Helm 4 (the chart supports both). */
  readonly helm3?: boolean;
}

/** Helm's `--values` and `--set` arguments: values files relative to the chart, and pairs. */
export function valuesArgs(
  valuesFiles: readonly string[],
  set: Readonly<Record<string, string>> = {},
): string[] {
  return [
    ...valuesFiles.flatMap((file) => ['--values', join(CHART_DIR, file)]),
    ...Object.entries(set).flatMap(([key, value]) => ['--set', `${key}=${value}`]),
  ];
}

/** The objects in a multi-document YAML stream, empty documents left out. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML: ${doc.errors[0]?.message ?? ''}`);
      return doc.toJS() as unknown;
    })
    .filter((value): value is KubeObject => value !== null && typeof value === 'object');
}

/** Runs `helm template` with the pinned Helm and returns the rendered YAML. */
export async function templateChart(
  valuesFiles: readonly string[],
  set: Readonly<Record<string, string>> = {},
  options: RenderOptions = {},
): Promise<string> {
  const { stdout } = await helm(
    [
      'template',
      options.release ?? 'emporium',
      options.chartDir ?? CHART_DIR,
      '--namespace',
      options.namespace ?? 'emporium',
      '--kube-version',
      KUBE_VERSION,
      ...(options.monitoring === false ? [] : ['--api-versions', MONITORING_API]),
      ...valuesArgs(valuesFiles, set),
    ],
    undefined,
    options.helm3 ? 'helm3' : 'helm',
  );
  return stdout;
}

/** Renders the chart with the pinned Helm and parses every object. */
export async function renderChart(
  valuesFiles: readonly string[],
  set: Readonly<Record<string, string>> = {},
  options: RenderOptions = {},
): Promise<KubeObject[]> {
  return parseObjects(await templateChart(valuesFiles, set, options));
}

/** Runs `helm lint --strict` with the given values; throws a ToolError with Helm's findings. */
export async function lintChart(
  valuesFiles: readonly string[],
  set: Readonly<Record<string, string>> = {},
): Promise<string> {
  const { stdout } = await helm([
    'lint',
    '--strict',
    CHART_DIR,
    '--kube-version',
    KUBE_VERSION,
    ...valuesArgs(valuesFiles, set),
  ]);
  return stdout;
}
