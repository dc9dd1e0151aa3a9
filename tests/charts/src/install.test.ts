import assert from 'node:assert/strict';
import {
  eventually,
  helm,
  installCrds,
  startKubernetes,
  type KubernetesCluster,
} from '@emporium/harness';
import {
  CHART_DIR,
  CRDS_DIR,
  PROFILES,
  parseObjects,
  valuesArgs,
  type ChartProfile,
} from './chart.js';
import { skaffold } from './skaffold.js';

/** The fields of the objects read back from the API server that these checks look at. */
interface Listed<T> {
  items: T[];
}
interface Deployment {
  metadata: { name: string };
  spec: { replicas?: number };
  status?: { availableReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
}
interface Service {
  metadata: { name: string };
  spec: { clusterIP?: string; selector?: Record<string, string> };
}
interface EndpointSlice {
  metadata: { labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean } }[];
}
interface Pod {
  metadata: { name: string };
  status?: { phase?: string; podIP?: string };
}

/** Every mesh mode, each installed with the profile that exercises it. */
const INSTALLS: readonly { mode: string; profile: string }[] = [
  { mode: 'envoy', profile: 'kind' },
  { mode: 'envoy', profile: 'eks' },
  { mode: 'appmesh', profile: 'appmesh' },
  { mode: 'lattice', profile: 'lattice' },
  { mode: 'none', profile: 'none' },
];

function profile(name: string): ChartProfile {
  const found = PROFILES.find((p) => p.name === name);
  if (!found) throw new Error(`no chart profile ${name}`);
  return found;
}

describe('charts/emporium installed on a real control plane (kube-apiserver, kwok nodes)', function () {
  let cluster: KubernetesCluster;

  const kubectlJson = async <T>(args: readonly string[]): Promise<T> =>
    JSON.parse((await cluster.kubectl([...args, '-o', 'json'])).stdout) as T;
  const helmOn = (args: readonly string[]): ReturnType<typeof helm> =>
    helm([...args, '--kubeconfig', cluster.kubeconfig]);

  /** A namespace that enforces Pod Security "restricted", as the chart's README asks. */
  async function restrictedNamespace(name: string): Promise<void> {
    await cluster.kubectl(['create', 'namespace', name]);
    await cluster.kubectl([
      'label',
      'namespace',
      name,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=latest',
    ]);
  }

  /** `helm install` or `helm upgrade` of the release `emporium`, waiting for it to be ready. */
  async function release(
    verb: 'install' | 'upgrade',
    namespace: string,
    p: ChartProfile,
    set: Record<string, string> = {},
  ): Promise<void> {
    await helmOn([
      verb,
      'emporium',
      CHART_DIR,
      '--namespace',
      namespace,
      '--wait',
      '--timeout',
      '4m',
      ...valuesArgs(p.valuesFiles, { ...p.set, ...set }),
    ]);
  }

  /** Every Deployment has all its replicas available, none left on an old ReplicaSet. */
  async function deploymentsAvailable(namespace: string): Promise<Deployment[]> {
    const { items } = await kubectlJson<Listed<Deployment>>([
      'get',
      'deployments',
      '-n',
      namespace,
    ]);
    for (const d of items) {
      const want = d.spec.replicas ?? 1;
      assert.equal(d.status?.availableReplicas ?? 0, want, `${d.metadata.name} available`);
      assert.equal(d.status?.updatedReplicas ?? 0, want, `${d.metadata.name} updated`);
    }
    return items;
  }

  /** Ready endpoints per Service, from the EndpointSlices the controller-manager keeps. */
  async function readyEndpoints(namespace: string): Promise<Map<string, number>> {
    const { items } = await kubectlJson<Listed<EndpointSlice>>([
      'get',
      'endpointslices',
      '-n',
      namespace,
    ]);
    const ready = new Map<string, number>();
    for (const slice of items) {
      const service = slice.metadata.labels?.['kubernetes.io/service-name'];
      if (!service) continue;
      const n = (slice.endpoints ?? []).filter((e) => e.conditions?.ready === true).length;
      ready.set(service, (ready.get(service) ?? 0) + n);
    }
    return ready;
  }

  before(async function () {
    this.timeout(15 * 60_000); // a cold machine builds Kubernetes first
    cluster = await startKubernetes();
    // The CRDs of the operators the chart's objects belong to (never shipped in the chart).
    await installCrds(cluster, CRDS_DIR);
  });

  after(async () => {
    await cluster.stop();
  });

  for (const { mode, profile: name } of INSTALLS) {
    it(`${mode} (${name} values): helm install --wait, every Deployment Available, every Service with ready endpoints, every pod admitted under "restricted"`, async () => {
      const namespace = `emporium-${name}`;
      await restrictedNamespace(namespace);
      await release('install', namespace, profile(name));

      // An HPA may still be raising a Deployment to its minReplicas just after the install.
      const deployments = await eventually(
        'every Deployment available',
        () => deploymentsAvailable(namespace),
        60_000,
      );
      assert.ok(deployments.length >= 9, `${String(deployments.length)} Deployments`);
      const running = deployments.filter((d) => (d.spec.replicas ?? 1) > 0).length;
      assert.ok(running >= 8, 'the eight services run (loadgen has 0 replicas)');

      const ready = await readyEndpoints(namespace);
      const { items: services } = await kubectlJson<Listed<Service>>([
        'get',
        'services',
        '-n',
        namespace,
      ]);
      assert.ok(services.length >= 8);
      const idle = new Set(
        deployments.filter((d) => d.spec.replicas === 0).map((d) => d.metadata.name),
      );
      for (const svc of services) {
        // loadgen runs 0 replicas until scaled: its Service rightly has no endpoints.
        if (!svc.spec.selector || idle.has(svc.metadata.name)) continue;
        assert.ok((ready.get(svc.metadata.name) ?? 0) > 0, `${svc.metadata.name} has endpoints`);
      }

      // Each pod passed admission under "restricted" (a violating pod is never created) and
      // kwok runs it: it is Running with an address.
      const { items: pods } = await kubectlJson<Listed<Pod>>(['get', 'pods', '-n', namespace]);
      const replicas = deployments.reduce((n, d) => n + (d.spec.replicas ?? 1), 0);
      assert.equal(pods.length, replicas);
      for (const pod of pods) {
        assert.equal(pod.status?.phase, 'Running', pod.metadata.name);
        assert.ok(pod.status.podIP, `${pod.metadata.name} has an IP`);
      }
      // Re-checking the namespace's pods against "restricted" server-side warns of none.
      const { stderr } = await cluster.kubectl([
        'label',
        'namespace',
        namespace,
        '--overwrite',
        '--dry-run=server',
        'pod-security.kubernetes.io/enforce=restricted',
      ]);
      assert.doesNotMatch(stderr, /violate/i);
    });
  }

  it('what `skaffold dev` applies on kind (k8s/ and the chart, rendered by skaffold) is accepted under "restricted" and rolls out', async () => {
    const objects = parseObjects(
      await skaffold(['render', '--offline', '--module', 'emporium', '--digest-source', 'tag']),
    );
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    assert.deepEqual(
      namespaces.map((n) => n.metadata.name),
      ['emporium'],
    );
    await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: namespaces }),
    });
    // The namespace warns of "restricted" too, so a workload template that would break it is
    // reported at apply time, before any pod exists.
    const { stderr } = await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: objects.filter((o) => o.kind !== 'Namespace'),
      }),
    });
    assert.doesNotMatch(stderr, /violate PodSecurity/);
    const deployments = await eventually(
      'every Deployment available',
      () => deploymentsAvailable('emporium'),
      90_000,
    );
    const names = deployments.map((d) => d.metadata.name);
    for (const name of ['redis', 'jaeger', 'otel-collector', 'dev-issuer', 'gateway', 'orders']) {
      assert.ok(names.includes(name), name);
    }
    // Kafka and MongoDB are StatefulSets whose volumes a kind node provisions; kwok has no
    // storage, so only their acceptance is checked here.
    await cluster.kubectl(['get', 'statefulset/kafka', 'statefulset/mongodb', '-n', 'emporium']);
  });

  it('a pod that breaks "restricted" is refused in such a namespace (the check above can fail)', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rooty', namespace: 'emporium-kind' },
      spec: {
        // Root with no seccomp profile: allowed by the API server, refused by "restricted".
        containers: [{ name: 'c', image: 'busybox', securityContext: { runAsUser: 0 } }],
      },
    };
    await assert.rejects(
      cluster.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(pod) }),
      /violates PodSecurity "restricted/,
    );
  });

  it('helm upgrade with more replicas rolls out, and the new pods join the Service', async () => {
    const namespace = 'emporium-kind';
    await release('upgrade', namespace, profile('kind'), { 'services.catalog.replicas': '3' });
    const catalog = (await deploymentsAvailable(namespace)).find(
      (d) => d.metadata.name === 'catalog',
    );
    assert.equal(catalog?.spec.replicas, 3);
    await eventually('catalog has 3 ready endpoints', async () =>
      (await readyEndpoints(namespace)).get('catalog') === 3 ? true : undefined,
    );
    const { stdout } = await helmOn(['history', 'emporium', '--namespace', namespace]);
    assert.match(stdout, /2\s+.*deployed/);
  });

  it('bad values fail at install with the schema message, and create nothing', async () => {
    const namespace = 'emporium-bad';
    await restrictedNamespace(namespace);
    const p = profile('none');
    const attempt = (set: Record<string, string>): Promise<unknown> =>
      helmOn([
        'install',
        'emporium',
        CHART_DIR,
        '--namespace',
        namespace,
        ...valuesArgs(p.valuesFiles, { ...p.set, ...set }),
      ]);
    await assert.rejects(
      attempt({ 'mesh.mode': 'istio' }),
      /mesh[./]mode.*(envoy|must be one of)/s,
    );
    await assert.rejects(
      attempt({ 'services.orders.replicas': '-1' }),
      /replicas.*(minimum|>= 0)/s,
    );
    await assert.rejects(attempt({ 'services.orders.replica': '2' }), /additional propert/i);
    await assert.rejects(attempt({ 'services.orders.image.repository': '' }), /repository/);
    await assert.rejects(helmOn(['status', 'emporium', '--namespace', namespace]), /not found/);
    const { items } = await kubectlJson<Listed<Deployment>>([
      'get',
      'deployments',
      '-n',
      namespace,
    ]);
    assert.equal(items.length, 0);
  });

  it('helm uninstall leaves nothing of the release behind', async () => {
    const namespace = 'emporium-none';
    await helmOn(['uninstall', 'emporium', '--namespace', namespace, '--wait']);
    const kinds = (
      await cluster.kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])
    ).stdout
      .split('\n')
      .filter((k) => k && !k.startsWith('events'));
    await eventually(
      'the namespace holds only what Kubernetes itself put there',
      async () => {
        const { stdout } = await cluster.kubectl([
          'get',
          kinds.join(','),
          '-n',
          namespace,
          '-o',
          'name',
        ]);
        const left = stdout
          .split('\n')
          .filter(Boolean)
          .filter((n) => n !== 'configmap/kube-root-ca.crt' && n !== 'serviceaccount/default');
        return left.length === 0 ? true : undefined;
      },
      60_000,
    );
    await assert.rejects(helmOn(['status', 'emporium', '--namespace', namespace]), /not found/);
  });
});
