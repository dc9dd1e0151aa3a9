import { dirname } from 'node:path';
import { ensureTool, repoRoot, runCommand, tempDir } from '@emporium/harness';

/** The profiles of skaffold.yaml. */
export const SKAFFOLD_PROFILES = ['kind', 'eks', 'appmesh', 'lattice', 'local'] as const;

/**
 * Runs the pinned skaffold in the repository root with the pinned Helm 3 first on PATH
 * (skaffold 2.16 asks `helm version --client`, which Helm 4 dropped) and the pinned kubectl
 * (whose built-in kustomize renders the local profile's overlay), a throwaway Helm home and
 * no kube context: nothing here reaches a cluster or a registry.
 */
export async function skaffold(args: readonly string[]): Promise<string> {
  const [tool, helm3, kubernetes] = await Promise.all([
    ensureTool('skaffold'),
    ensureTool('helm3'),
    ensureTool('kubernetes'),
  ]);
  const home = await tempDir('skaffold');
  const env = {
    ...process.env,
    PATH: `${dirname(helm3.bin)}:${dirname(kubernetes.kubectl)}:${process.env.PATH ?? ''}`,
    HOME: home,
    HELM_CACHE_HOME: `${home}/helm-cache`,
    HELM_CONFIG_HOME: `${home}/helm-config`,
    HELM_DATA_HOME: `${home}/helm-data`,
    KUBECONFIG: `${home}/no-kubeconfig`,
    SKAFFOLD_UPDATE_CHECK: 'false',
    SKAFFOLD_DISABLE_MONITORING: 'true',
  };
  const { stdout } = await runCommand('skaffold', tool.bin, args, { cwd: repoRoot(), env });
  return stdout;
}
