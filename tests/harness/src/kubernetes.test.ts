import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { eventually } from './checks.js';
import {
  installCrds,
  SHARED_CRDS_DIR as SHARED_CRDS,
  startKubernetes,
  type KubernetesCluster,
} from './components/kubernetes.js';
import { toolVersions } from './tools/catalogue.js';

/** The upstream CRDs the chart's objects are validated against, beside the repository. */

interface EndpointSliceList {
  items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
}

/** A container that satisfies Pod Security "restricted". */
const restrictedContainer = {
  name: 'app',
  image: 'registry.invalid/app:1',
  securityContext: {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    runAsUser: 1000,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

describe('kubernetes control plane', function () {
  let cluster: KubernetesCluster;
  let started: KubernetesCluster | undefined;

  before(async function () {
    this.timeout(120_000);
    started = await startKubernetes();
    cluster = started;
  });

  after(async () => {
    await started?.stop();
  });

  it('reports the pinned version from the server and kubectl', async () => {
    const pinned = toolVersions().kubernetes.version;
    assert.equal(cluster.version, pinned);
    const { stdout } = await cluster.kubectl(['version', '-o', 'json']);
    const versions = JSON.parse(stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    assert.equal(versions.clientVersion.gitVersion, pinned);
    assert.equal(versions.serverVersion.gitVersion, pinned);
    assert.equal(cluster.nodes.length, 2);
  });

  it('rolls a Deployment out and fills its Service’s EndpointSlice with ready pods', async () => {
    const labels = { app: 'web' };
    await cluster.kubectl(['apply', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rollout' } },
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'web', namespace: 'rollout' },
            spec: {
              replicas: 2,
              selector: { matchLabels: labels },
              template: {
                metadata: { labels },
                spec: {
                  containers: [{ ...restrictedContainer, ports: [{ containerPort: 8080 }] }],
                },
              },
            },
          },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web', namespace: 'rollout' },
            spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
          },
        ],
      }),
    });
    await cluster.kubectl([
      'rollout',
      'status',
      'deployment/web',
      '-n',
      'rollout',
      '--timeout=60s',
    ]);
    const ready = await eventually('2 ready endpoints', async () => {
      const { stdout } = await cluster.kubectl([
        'get',
        'endpointslices',
        '-n',
        'rollout',
        '-l',
        'kubernetes.io/service-name=web',
        '-o',
        'json',
      ]);
      const slices = JSON.parse(stdout) as EndpointSliceList;
      const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
      const readyOnes = endpoints.filter((e) => e.conditions?.ready === true);
      return readyOnes.length === 2 ? readyOnes : undefined;
    });
    for (const endpoint of ready) assert.match(endpoint.addresses[0] ?? '', /^10\.244\./);
  });

  it('enforces Pod Security "restricted" where a namespace asks for it', async () => {
    await cluster.kubectl(['create', 'namespace', 'locked']);
    await cluster.kubectl([
      'label',
      'namespace',
      'locked',
      'pod-security.kubernetes.io/enforce=restricted',
    ]);
    const pod = (name: string, container: object): string =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'locked' },
        spec: { containers: [container] },
      });
    // Root, no seccomp profile, privilege escalation allowed: what restricted forbids.
    const refused = await cluster
      .kubectl(['apply', '-f', '-'], {
        stdin: pod('as-root', { name: 'app', image: 'registry.invalid/app:1' }),
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(refused instanceof Error, 'a pod breaking restricted was admitted');
    assert.match(refused.message, /violates PodSecurity "restricted:latest"/);
    await cluster.kubectl(['apply', '-f', '-'], { stdin: pod('compliant', restrictedContainer) });
    await cluster.kubectl(['get', 'pod', 'compliant', '-n', 'locked']);
  });

  it('installs every shared CRD server-side and each becomes Established', async function () {
    this.timeout(120_000);
    const files = readdirSync(SHARED_CRDS).filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.length > 0, `no CRD files in ${SHARED_CRDS}`);
    const names = await installCrds(cluster);
    assert.ok(names.length >= files.length);
    const { stdout } = await cluster.kubectl(['get', 'crd', '-o', 'name']);
    for (const name of names) assert.ok(stdout.includes(name.split('/')[1] ?? name), name);
  });
});
