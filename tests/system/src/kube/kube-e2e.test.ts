import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  call,
  eventually,
  helm,
  installCrds,
  nodePodLogsDir,
  repoRoot,
  startKubernetes,
  type KubernetesCluster,
  type RealNode,
} from '@emporium/harness';
import { INFRA_IMAGES, SERVICE_IMAGE_TAG, serviceNames } from '@emporium/scripts/images';
import { traceSpans } from '../jaeger-trace.js';

/**
 * `npm run kube:e2e`: the store on a real Kubernetes node on this machine (kubelet, containerd,
 * runc, CNI, kube-proxy, CoreDNS; see the harness's kube-node.ts), installed as a user installs
 * it on kind: k8s/ for the dev infrastructure, then the chart with values-kind.yaml and Envoy
 * sidecars. Images are built with buildah (`npm run images`) and loaded into the node as
 * `kind load` does; the upstream infrastructure images, which cannot be pulled here, are
 * replaced by the local stand-ins INFRA_IMAGES lists.
 */

const NAMESPACE = 'emporium';
const RELEASE = 'emporium';
/** A cold start: nine services with sidecars, Kafka, FerretDB, on two cores. */
const READY_TIMEOUT = '600s';

/** A container's named ports, as the pod spec lists them. */
interface PodContainer {
  name: string;
  ports?: { name?: string; containerPort: number }[];
}
interface PodStatus {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: { containers: PodContainer[]; initContainers?: PodContainer[] };
  status: {
    phase: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
  };
}
interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state: { running?: { startedAt: string } };
  lastState?: { terminated?: { exitCode: number; reason?: string } };
}
interface Order {
  orderId: string;
  status: 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';
}

/** Runs a command with this process's output, rejecting when it fails. */
function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot(), stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited ${String(code)}`));
    });
  });
}

/**
 * k8s/ through its `local` overlay (the one skaffold's local profile applies), which swaps each
 * upstream image for its stand-in; the dev issuer's image is the gateway's, by the tag built.
 */
async function devInfrastructure(cluster: KubernetesCluster): Promise<string> {
  const { stdout } = await cluster.kubectl([
    'kustomize',
    // The overlay's resources are k8s/'s files, one folder up.
    '--load-restrictor',
    'LoadRestrictionsNone',
    join(repoRoot(), 'k8s', 'local'),
  ]);
  return stdout.replace(
    /^(\s*image: )emporium\/gateway$/m,
    `$1docker.io/emporium/gateway:${SERVICE_IMAGE_TAG}`,
  );
}

describe('kube-e2e: the chart on a real node', function () {
  this.timeout(3_600_000);
  let cluster: KubernetesCluster | undefined;
  let node: RealNode;
  let gateway = '';
  let issuer = '';
  let jaeger = '';
  let prometheus = '';

  const kubectl = async (args: readonly string[], stdin?: string): Promise<string> => {
    if (!cluster) throw new Error('no cluster: its start failed');
    return (await cluster.kubectl(args, { stdin })).stdout;
  };
  /** A Service's ClusterIP and its first port (or the one named), as seen inside the node. */
  const serviceAddress = async (service: string, portName?: string): Promise<[string, number]> => {
    const svc = JSON.parse(
      await kubectl(['get', 'service', service, '-n', NAMESPACE, '-o', 'json']),
    ) as {
      spec: { clusterIP: string; ports: { name?: string; port: number }[] };
    };
    const port = svc.spec.ports.find((p) => portName === undefined || p.name === portName);
    if (!port) throw new Error(`service ${service} has no port ${portName ?? ''}`);
    return [svc.spec.clusterIP, port.port];
  };
  const pods = async (): Promise<PodStatus[]> =>
    (
      JSON.parse(await kubectl(['get', 'pods', '-n', NAMESPACE, '-o', 'json'])) as {
        items: PodStatus[];
      }
    ).items;
  const token = async (user: string): Promise<string> => {
    const { body } = await call<{ access_token: string }>(`${issuer}/dev/token`, {
      method: 'POST',
      body: JSON.stringify({ user }),
      expect: 200,
    });
    return body.access_token;
  };

  before(async function () {
    const startedAt = Date.now();
    await run('npm', ['run', 'images']);
    const started = await startKubernetes({ realNode: true });
    cluster = started;
    if (!started.realNode) throw new Error('the cluster has no real node');
    node = started.realNode;
    await installCrds(started);
    const loaded = await node.loadImages([
      ...serviceNames().map((name) => `docker.io/emporium/${name}:${SERVICE_IMAGE_TAG}`),
      ...INFRA_IMAGES.map((image) => image.image),
    ]);
    process.stdout.write(`    loaded ${String(loaded.length)} images into the node\n`);
    await kubectl(['apply', '-f', '-'], await devInfrastructure(started));
    // k8s/ Ready before the chart, as skaffold deploys them (dev-infrastructure first).
    const workloads = await kubectl([
      'get',
      'deployments,statefulsets',
      '-n',
      NAMESPACE,
      '-o',
      'name',
    ]);
    for (const workload of workloads.split('\n').filter(Boolean)) {
      await kubectl(['rollout', 'status', workload, '-n', NAMESPACE, `--timeout=${READY_TIMEOUT}`]);
    }
    const envoy = INFRA_IMAGES.find((image) => image.name === 'envoy');
    if (!envoy) throw new Error('INFRA_IMAGES has no envoy');
    const [repository, tag] = envoy.image.split(/:(?=[^:/]+$)/);
    await helm([
      'install',
      RELEASE,
      join(repoRoot(), 'charts', 'emporium'),
      '--kubeconfig',
      started.kubeconfig,
      '--namespace',
      NAMESPACE,
      '-f',
      join(repoRoot(), 'charts', 'emporium', 'values-kind.yaml'),
      '--set',
      'mesh.mode=envoy',
      '--set',
      `mesh.envoy.image.repository=${repository ?? ''}`,
      '--set',
      `mesh.envoy.image.tag=${tag ?? ''}`,
    ]);
    await kubectl([
      'wait',
      'pods',
      '--all',
      '-n',
      NAMESPACE,
      '--for=condition=Ready',
      `--timeout=${READY_TIMEOUT}`,
    ]);
    process.stdout.write(
      `    every pod Ready ${String(Math.round((Date.now() - startedAt) / 1000))} s after the start\n`,
    );
    // Prometheus last: it scrapes the pods found Ready (see prometheusObjects).
    await kubectl(['apply', '-f', '-'], prometheusObjects(await pods()));
    await kubectl([
      'rollout',
      'status',
      'deployment/prometheus',
      '-n',
      NAMESPACE,
      '--timeout=120s',
    ]);
    gateway = await node.expose(...(await serviceAddress('gateway')));
    issuer = await node.expose(...(await serviceAddress('dev-issuer')));
    jaeger = await node.expose(...(await serviceAddress('jaeger', 'ui')));
    prometheus = await node.expose(...(await serviceAddress('prometheus')));
  });

  after(async function () {
    await cluster?.stop();
  });

  it('every pod is Ready, each Envoy sidecar started before its app, none restarted', async function () {
    const all = await pods();
    // A restart at start is a crash: services starting together on a fresh Kafka crashed on
    // UNKNOWN_TOPIC_OR_PARTITION until ensureTopics waited for every topic's leader.
    const restarted = all.flatMap((pod) =>
      [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])]
        .filter((c) => c.restartCount > 0)
        .map((c) => ({ pod, c })),
    );
    for (const { pod, c } of restarted) {
      // The first run's log, as the kubelet left it (kubectl logs --previous needs the node's
      // address, which the API server never dials here).
      const log = join(
        nodePodLogsDir(),
        `${NAMESPACE}_${pod.metadata.name}_${pod.metadata.uid}`,
        c.name,
        '0.log',
      );
      const tail = await readFile(log, 'utf8').then(
        (text) => text.trimEnd().split('\n').slice(-15).join('\n'),
        (err: unknown) => String(err),
      );
      const last = c.lastState?.terminated;
      process.stdout.write(
        `    ${pod.metadata.name}/${c.name} restarted (exit ${String(last?.exitCode)}, ${last?.reason ?? '?'}); its first log ends:\n${tail}\n`,
      );
    }
    assert.deepEqual(
      restarted.map(({ pod, c }) => `${pod.metadata.name}/${c.name}`),
      [],
      'containers that restarted',
    );
    const apps = all.filter((pod) => pod.metadata.labels?.['emporium.io/sidecar'] === 'envoy');
    assert.ok(apps.length >= serviceNames().length - 1, `${String(apps.length)} pods with Envoy`);
    for (const pod of apps) {
      const envoy = pod.status.initContainerStatuses?.find((c) => c.name === 'envoy');
      const app = pod.status.containerStatuses?.[0];
      assert.ok(envoy?.state.running && app?.state.running, `${pod.metadata.name} runs both`);
      // A native sidecar: an init container that keeps running, started before the app.
      assert.ok(
        Date.parse(envoy.state.running.startedAt) <= Date.parse(app.state.running.startedAt),
        `${pod.metadata.name}: Envoy started after its app`,
      );
    }
  });

  let orderId = '';
  const traceId = randomBytes(16).toString('hex');

  it('a shopper checks out through the gateway Service and the order is SHIPPED', async function () {
    const bearer = { authorization: `Bearer ${await token('kube-e2e')}` };
    const { body: page } = await call<{ items: { id: string; sku: string }[] }>(
      `${gateway}/api/products?limit=6`,
      { expect: 200 },
    );
    const product = page.items[0];
    assert.ok(product, 'the catalogue is seeded');
    await eventually(
      `stock of ${product.sku}`,
      async () => {
        const { body } = await call<{ stock: { available: number } | null }>(
          `${gateway}/api/products/${product.id}/page`,
          { expect: 200 },
        );
        return body.stock && body.stock.available > 0 ? body : undefined;
      },
      120_000,
    );
    await call(`${gateway}/api/cart/lines/${product.sku}`, {
      method: 'PUT',
      headers: bearer,
      body: JSON.stringify({ quantity: 1 }),
      expect: 200,
    });
    const { body: accepted } = await call<Order>(`${gateway}/api/orders`, {
      method: 'POST',
      headers: {
        ...bearer,
        'idempotency-key': randomBytes(16).toString('hex'),
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      expect: 202,
    });
    orderId = accepted.orderId;
    const order = await eventually(
      `order ${orderId} SHIPPED`,
      async () => {
        const { body } = await call<Order>(`${gateway}/api/orders/${orderId}`, {
          headers: bearer,
          expect: 200,
        });
        await sleep(500);
        return body.status === 'SHIPPED' || body.status === 'CANCELLED' ? body : undefined;
      },
      180_000,
    );
    assert.equal(order.status, 'SHIPPED');
  });

  it('the checkout trace is in Jaeger, through the pods and their sidecars', async function () {
    assert.ok(orderId, 'the checkout ran');
    const spans = await eventually(
      'the checkout trace in Jaeger',
      async () => {
        const seen = await traceSpans(jaeger, traceId);
        const services = new Set(seen?.map((span) => span.service));
        return ['gateway', 'orders', 'payments', 'shipping'].every((s) => services.has(s))
          ? seen
          : undefined;
      },
      120_000,
    );
    const services = new Set(spans.map((span) => span.service));
    // Envoy reports its spans under its own service names (the chart's tracing settings).
    assert.ok(
      [...services].some((s) => /envoy|sidecar/.test(s)) ||
        spans.some((span) => /envoy|egress|ingress/.test(span.name)),
      `a sidecar span among ${[...services].join(', ')}`,
    );
  });

  it('Prometheus scrapes every app and every sidecar', async function () {
    const expected = (await pods()).filter(
      (pod) => pod.metadata.labels?.['emporium.io/sidecar'] === 'envoy',
    ).length;
    for (const job of ['emporium', 'envoy']) {
      await eventually(
        `${job} targets up`,
        async () => {
          const { body } = await call<{ data: { result: { value: [number, string] }[] } }>(
            `${prometheus}/api/v1/query?query=${encodeURIComponent(`sum(up{job="${job}"})`)}`,
            { expect: 200 },
          );
          const up = Number(body.data.result[0]?.value[1] ?? 0);
          return up >= expected ? up : undefined;
        },
        120_000,
      );
    }
  });

  it('a rolling restart of orders under load fails no request', async function () {
    // The shopper's own token: an order is found only by the user who placed it.
    const bearer = { authorization: `Bearer ${await token('kube-e2e')}` };
    let sent = 0;
    const failures: string[] = [];
    const restart = { rolling: true };
    // Each round reads the order (orders) and a page of products (catalog), ~8 requests a second.
    const load = (async () => {
      while (restart.rolling) {
        await Promise.all(
          [`${gateway}/api/orders/${orderId}`, `${gateway}/api/products?limit=2`].map(
            async (url) => {
              sent += 1;
              const response = await fetch(url, { headers: bearer }).catch((err: unknown) =>
                err instanceof Error ? err : new Error(String(err)),
              );
              if (response instanceof Error) failures.push(`${url}: ${response.message}`);
              else if (!response.ok) failures.push(`${url}: ${String(response.status)}`);
              if (!(response instanceof Error)) await response.arrayBuffer();
            },
          ),
        );
        await sleep(250);
      }
    })();
    await sleep(3000);
    await kubectl(['rollout', 'restart', 'deployment/orders', '-n', NAMESPACE]);
    await kubectl(['rollout', 'status', 'deployment/orders', '-n', NAMESPACE, '--timeout=300s']);
    // The old pods' drain (readiness 503, then in-flight requests) is over after the status.
    await sleep(5000);
    restart.rolling = false;
    await load;
    process.stdout.write(`    ${String(sent)} requests during the restart\n`);
    assert.ok(sent > 50, `only ${String(sent)} requests`);
    assert.deepEqual(failures, []);
  });
});

/**
 * An in-cluster Prometheus that scrapes each app's /metrics and each Envoy sidecar's
 * /stats/prometheus, the ports the chart's ServiceMonitor and PodMonitor name (no Prometheus
 * Operator runs here). The pinned Prometheus is built without Kubernetes service discovery
 * (remove_all_sd keeps its build small), so the targets are the pods' addresses, listed once they
 * are Ready.
 */
function prometheusObjects(all: readonly PodStatus[]): string {
  const prometheusImage = INFRA_IMAGES.find((image) => image.name === 'prometheus')?.image;
  if (!prometheusImage) throw new Error('INFRA_IMAGES has no prometheus');
  const labels = {
    'app.kubernetes.io/name': 'prometheus',
    'app.kubernetes.io/part-of': 'emporium-dev',
  };
  const targets = (port: string): object[] =>
    all.flatMap((pod) => {
      const found = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]
        .flatMap((container) => container.ports ?? [])
        .find((p) => p.name === port);
      return found && pod.status.podIP
        ? [
            {
              targets: [`${pod.status.podIP}:${String(found.containerPort)}`],
              labels: { pod: pod.metadata.name },
            },
          ]
        : [];
    });
  const config = {
    global: { scrape_interval: '5s' },
    scrape_configs: [
      { job_name: 'emporium', metrics_path: '/metrics', static_configs: targets('http-app') },
      {
        job_name: 'envoy',
        metrics_path: '/stats/prometheus',
        static_configs: targets('envoy-stats'),
      },
    ],
  };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'prometheus', namespace: NAMESPACE, labels },
        data: { 'prometheus.yml': JSON.stringify(config) },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'prometheus', namespace: NAMESPACE, labels },
        spec: { selector: labels, ports: [{ name: 'http', port: 9090, targetPort: 9090 }] },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'prometheus', namespace: NAMESPACE, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              // Static targets: it never calls the API server.
              automountServiceAccountToken: false,
              // The namespace enforces Pod Security "restricted", as k8s/namespace.yaml says.
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65534,
                fsGroup: 65534,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name: 'prometheus',
                  image: prometheusImage,
                  args: [
                    '--config.file=/etc/prometheus/prometheus.yml',
                    '--storage.tsdb.path=/prometheus',
                    '--web.listen-address=:9090',
                  ],
                  ports: [{ name: 'http', containerPort: 9090 }],
                  readinessProbe: { httpGet: { path: '/-/ready', port: 9090 }, periodSeconds: 5 },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [
                    { name: 'config', mountPath: '/etc/prometheus' },
                    { name: 'data', mountPath: '/prometheus' },
                  ],
                },
              ],
              volumes: [
                { name: 'config', configMap: { name: 'prometheus' } },
                { name: 'data', emptyDir: {} },
              ],
            },
          },
        },
      },
    ],
  });
}
