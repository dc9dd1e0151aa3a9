import { createRequire } from 'node:module';
import type * as KubeClientModule from '@kubernetes/client-node';

/** The exports of `@kubernetes/client-node`. */
export type KubeClient = typeof KubeClientModule;

let loaded: KubeClient | undefined;

/**
 * `@kubernetes/client-node`, loaded on first use. It is only needed where a service elects a
 * leader on a cluster, and loading it (its generated models of the whole API) costs about
 * 60 MiB and 0.8 s per process: every service paid that in `npm start`, where none uses it.
 * `require` of this ES module is synchronous (Node ≥ 20.19), so the callers stay synchronous.
 */
export function kubeClient(): KubeClient {
  loaded ??= createRequire(import.meta.url)('@kubernetes/client-node') as KubeClient;
  return loaded;
}
