import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, tempDir, validateEnvoyBootstrap } from '@emporium/harness';
import { CHART_CALL_POLICY, CHART_PORTS } from '@emporium/scripts/chart';
import { SERVICES } from '@emporium/scripts/stack';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { CHART_DIR, PROFILES, lintChart, renderChart, type KubeObject } from './chart.js';
import { podSecurityProblems, podSpec } from './pod-security.js';
import { crdValidators, objectProblems } from './validate.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface TestContainer {
  name: string;
  image: string;
  env?: EnvVar[];
  restartPolicy?: string;
  ports?: { name: string; containerPort: number }[];
}
interface TestPod {
  containers: TestContainer[];
  initContainers?: TestContainer[];
  automountServiceAccountToken?: boolean;
  topologySpreadConstraints?: { labelSelector?: unknown }[];
  volumes?: {
    name: string;
    projected?: {
      sources: {
        serviceAccountToken?: { audience?: string; path: string; expirationSeconds?: number };
        configMap?: { name: string };
      }[];
    };
  }[];
}

/** Runs `work` over `items` with at most `limit` at once (the machine has two cores). */
async function pooled<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `no ${kind}/${name}`);
  return found;
}

function pod(objects: readonly KubeObject[], name: string): TestPod {
  const spec = podSpec(find(objects, 'Deployment', name));
  assert.ok(spec);
  return spec as unknown as TestPod;
}

function env(objects: readonly KubeObject[], name: string): Record<string, EnvVar> {
  const app = pod(objects, name).containers[0];
  assert.ok(app);
  return Object.fromEntries((app.env ?? []).map((e) => [e.name, e]));
}

function value(objects: readonly KubeObject[], name: string, variable: string): string | undefined {
  return env(objects, name)[variable]?.value;
}

/** The Envoy bootstraps of a render, by service. */
function bootstraps(objects: readonly KubeObject[]): Map<string, Record<string, unknown>> {
  return new Map(
    objects
      .filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-envoy'))
      .map((o) => {
        const data = o.data as { 'envoy.yaml': string };
        return [
          o.metadata.name.replace(/-envoy$/, ''),
          parse(data['envoy.yaml']) as Record<string, unknown>,
        ];
      }),
  );
}

describe('charts/emporium: helm lint --strict', () => {
  for (const profile of PROFILES) {
    it(`${profile.name} (${profile.valuesFiles.join(', ')})`, async () => {
      const out = await lintChart(profile.valuesFiles);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

describe('charts/emporium: rendered profiles', () => {
  const rendered = new Map<string, KubeObject[]>();
  let crds: Map<string, ValidateFunction>;
  const render = (name: string): KubeObject[] => {
    const objects = rendered.get(name);
    assert.ok(objects, `${name} was not rendered`);
    return objects;
  };

  before(async () => {
    crds = await crdValidators();
    const all = await pooled(PROFILES, 3, (p) => renderChart(p.valuesFiles, p.set));
    PROFILES.forEach((p, i) => rendered.set(p.name, all[i] ?? []));
  });

  for (const profile of PROFILES) {
    it(`${profile.name}: every object validates against its schema (kubernetes-models or its CRD)`, () => {
      const objects = render(profile.name);
      assert.ok(objects.length > 20, `only ${String(objects.length)} objects`);
      assert.deepEqual(
        objects.flatMap((o) => objectProblems(o, crds)),
        [],
      );
    });
    it(`${profile.name}: every pod template meets Pod Security "restricted"`, () => {
      const objects = render(profile.name);
      assert.deepEqual(objects.flatMap(podSecurityProblems), []);
    });
  }

  it('every Envoy bootstrap rendered (minimal, kind, eks) passes envoy --mode validate', async () => {
    const all = ['minimal', 'kind', 'eks'].flatMap((name) =>
      [...bootstraps(render(name))].map(([service, bootstrap]) => ({ name, service, bootstrap })),
    );
    assert.equal(all.length, 3 * SERVICES.length);
    // Identical bootstraps are validated once.
    const unique = new Map(all.map((b) => [JSON.stringify(b.bootstrap), b]));
    await pooled([...unique.values()], 2, async ({ name, service, bootstrap }) => {
      await validateEnvoyBootstrap(bootstrap).catch((err: unknown) => {
        throw new Error(`${name}/${service}: ${String(err)}`);
      });
    });
  });

  it('envoy mode: a native sidecar at the pinned Envoy, DNS upstreams in the namespace, stats off the admin', async () => {
    const objects = render('kind');
    const versions = JSON.parse(await readFile(join(repoRoot(), 'tool-versions.json'), 'utf8')) as {
      envoy: { version: string };
    };
    for (const { name, upstreams } of SERVICES) {
      const spec = pod(objects, name);
      const sidecar = spec.initContainers?.find((c) => c.name === 'envoy');
      assert.ok(sidecar, `${name} has no sidecar`);
      assert.equal(sidecar.restartPolicy, 'Always', 'a native sidecar');
      assert.equal(sidecar.image, `envoyproxy/envoy-distroless:v${versions.envoy.version}`);
      assert.equal(value(objects, name, 'PORT'), String(CHART_PORTS.app));
      const bootstrap = bootstraps(objects).get(name);
      assert.ok(bootstrap);
      const text = JSON.stringify(bootstrap);
      assert.ok(!text.includes('{{'), 'a placeholder is left');
      const resources = bootstrap.static_resources as {
        clusters: { name: string; type: string; load_assignment: unknown }[];
        listeners: {
          name: string;
          address: { socket_address: { address: string; port_value: number } };
        }[];
      };
      for (const upstream of upstreams) {
        const cluster = resources.clusters.find((c) => c.name === upstream);
        assert.ok(cluster, `${name} has no cluster ${upstream}`);
        assert.equal(cluster.type, 'STRICT_DNS');
        assert.match(
          JSON.stringify(cluster.load_assignment),
          new RegExp(`"${upstream}\\.emporium\\.svc\\.cluster\\.local"`),
        );
        // The app's URL is its sidecar's egress listener for that upstream.
        const listener = resources.listeners.find((l) => l.name === `egress_${upstream}`);
        assert.equal(
          value(objects, name, `UPSTREAM_${upstream.toUpperCase()}_URL`),
          `http://127.0.0.1:${String(listener?.address.socket_address.port_value)}`,
        );
      }
      assert.equal(
        value(objects, name, 'UPSTREAM_RETRIES'),
        upstreams.length > 0 ? '0' : undefined,
      );
      const stats = resources.listeners.find((l) => l.name === 'stats');
      assert.deepEqual(stats?.address.socket_address, {
        address: '0.0.0.0',
        port_value: CHART_PORTS.stats,
      });
      assert.match(text, /"address":"otel-collector","port_value":"?4317"?/);
      assert.equal(
        (bootstrap.admin as { address: { socket_address: { address: string } } }).address
          .socket_address.address,
        '127.0.0.1',
      );
    }
    assert.equal(value(objects, 'gateway', 'TRUST_PROXY'), '1');
    assert.equal(value(objects, 'gateway', 'DEV_ISSUER_ENABLED'), 'false');
  });

  it('telemetry off: no tracing in the bootstraps and no collector cluster', async () => {
    const objects = await renderChart(['ci/minimal-values.yaml'], { 'telemetry.enabled': 'false' });
    const orders = bootstraps(objects).get('orders');
    const text = JSON.stringify(orders);
    assert.ok(!text.includes('opentelemetry'), 'tracing left in');
    assert.equal(value(objects, 'orders', 'TELEMETRY_ENABLED'), 'false');
    assert.ok(orders);
    await validateEnvoyBootstrap(orders);
  });

  it('none and lattice: the apps call the Service or the Lattice name, and retry themselves', () => {
    const none = render('none');
    assert.equal(
      value(none, 'orders', 'UPSTREAM_CART_URL'),
      'http://cart.emporium.svc.cluster.local:8080',
    );
    assert.equal(value(none, 'orders', 'UPSTREAM_RETRIES'), undefined);
    assert.equal(value(none, 'orders', 'PORT'), '8080');
    assert.equal(pod(none, 'orders').initContainers, undefined);
    assert.equal(value(none, 'gateway', 'TRUST_PROXY'), '0');
    const lattice = render('lattice');
    assert.equal(value(lattice, 'orders', 'UPSTREAM_CART_URL'), 'http://cart.emporium.internal');
    assert.equal(
      value(lattice, 'loadgen', 'UPSTREAM_GATEWAY_URL'),
      'http://gateway.emporium.svc.cluster.local:8080',
    );
    const route = find(lattice, 'HTTPRoute', 'cart');
    assert.deepEqual((route.spec as { hostnames: string[] }).hostnames, ['cart.emporium.internal']);
    find(lattice, 'TargetGroupPolicy', 'cart');
    find(lattice, 'GatewayClass', 'amazon-vpc-lattice');
    assert.equal(
      value(lattice, 'orders', 'OTEL_EXPORTER_OTLP_ENDPOINT'),
      'http://emporium-otel-collector.emporium.svc.cluster.local:4318',
    );
  });

  it('appmesh: a VirtualNode, VirtualService and VirtualRouter per service, the sidecar policy in its routes', () => {
    const objects = render('appmesh');
    find(objects, 'Mesh', 'emporium');
    for (const { name, upstreams } of SERVICES) {
      const node = find(objects, 'VirtualNode', name).spec as {
        backends?: { virtualService: { virtualServiceRef: { name: string } } }[];
      };
      assert.deepEqual(
        (node.backends ?? []).map((b) => b.virtualService.virtualServiceRef.name).sort(),
        [...upstreams].sort(),
      );
      find(objects, 'VirtualService', name);
      const router = find(objects, 'VirtualRouter', name).spec as {
        routes: {
          name: string;
          httpRoute: {
            retryPolicy?: { maxRetries: number; perRetryTimeout: { value: number } };
            timeout: { perRequest: { value: number } };
          };
        }[];
      };
      const retried = router.routes.filter((r) => r.httpRoute.retryPolicy).map((r) => r.name);
      assert.deepEqual(retried, ['get', 'head', 'put', 'delete', 'options', 'idempotency-key']);
      const get = router.routes[0]?.httpRoute;
      assert.ok(get?.retryPolicy);
      assert.equal(get.retryPolicy.maxRetries, CHART_CALL_POLICY.numRetries);
      assert.equal(get.retryPolicy.perRetryTimeout.value, CHART_CALL_POLICY.perTryTimeoutMs);
      assert.equal(get.timeout.perRequest.value, CHART_CALL_POLICY.routeTimeoutMs);
      assert.equal(value(objects, name, 'PORT'), '8080');
    }
    assert.equal(
      value(objects, 'orders', 'UPSTREAM_CART_URL'),
      'http://cart.emporium.svc.cluster.local:8080',
    );
    assert.equal(value(objects, 'orders', 'UPSTREAM_RETRIES'), '0');
  });

  it('eks with MSK IAM: the mechanism and region, and no SASL secret', async () => {
    const eks = PROFILES.find((p) => p.name === 'eks');
    assert.ok(eks);
    const objects = await renderChart(eks.valuesFiles, {
      ...eks.set,
      'kafka.sasl.mechanism': 'aws-msk-iam',
      'kafka.sasl.awsRegion': 'eu-west-1',
    });
    const orders = env(objects, 'orders');
    assert.equal(orders.KAFKA_SASL_MECHANISM?.value, 'aws-msk-iam');
    assert.equal(orders.KAFKA_AWS_REGION?.value, 'eu-west-1');
    assert.equal(orders.KAFKA_SSL?.value, 'true');
    assert.equal(orders.KAFKA_SASL_USERNAME, undefined);
    assert.equal(orders.KAFKA_SASL_PASSWORD, undefined);
  });

  it('zero trust: every service verifies user tokens, and callers carry a token per callee', () => {
    const tokensOf = (objects: readonly KubeObject[], name: string) =>
      pod(objects, name)
        .volumes?.find((v) => v.name === 'identity')
        ?.projected?.sources.flatMap((source) =>
          source.serviceAccountToken
            ? [[source.serviceAccountToken.path, source.serviceAccountToken.audience ?? '']]
            : [],
        );
    const kind = render('kind');
    for (const { name } of SERVICES) {
      const vars = env(kind, name);
      assert.equal(vars.JWT_ISSUER?.value, 'emporium-dev-issuer', name);
      assert.equal(vars.JWT_JWKS_URL?.value, 'http://dev-issuer:8080/dev/.well-known/jwks.json');
      // The gateway is the public edge: no workload token is any good there.
      assert.equal(vars.SERVICE_TOKEN_ISSUER === undefined, name === 'gateway', name);
    }
    const orders = env(kind, 'orders');
    assert.equal(orders.SERVICE_TOKEN_SUBJECT_PREFIX?.value, 'system:serviceaccount:emporium:');
    assert.equal(orders.SERVICE_TOKEN_DIR?.value, '/var/run/secrets/emporium/tokens');
    // In-cluster, the API server's JWKS: fetched with a pod token and the cluster's CA.
    assert.equal(
      orders.SERVICE_TOKEN_JWKS_URL?.value,
      'https://kubernetes.default.svc/openid/v1/jwks',
    );
    assert.equal(orders.NODE_EXTRA_CA_CERTS?.value, '/var/run/secrets/emporium/kube-api/ca.crt');
    assert.deepEqual(tokensOf(kind, 'orders'), [
      ['tokens/cart', 'cart'],
      ['tokens/catalog', 'catalog'],
      ['tokens/inventory', 'inventory'],
      ['kube-api/token', ''],
    ]);
    assert.equal(env(kind, 'inventory').SERVICE_TOKEN_DIR, undefined);
    assert.equal(tokensOf(kind, 'gateway'), undefined);

    // EKS: the cluster's public OIDC issuer; no API token in the pods for it.
    const eks = render('eks');
    const ordersEks = env(eks, 'orders');
    assert.match(ordersEks.SERVICE_TOKEN_JWKS_URL?.value ?? '', /^https:\/\/oidc\.eks\..*\/keys$/);
    assert.equal(ordersEks.SERVICE_TOKEN_JWKS_BEARER_FILE, undefined);
    assert.deepEqual(
      tokensOf(eks, 'orders')?.map(([, audience]) => audience),
      ['cart', 'catalog', 'inventory'],
    );
    assert.equal(tokensOf(eks, 'inventory'), undefined);
  });

  it('eks: MSK, DocumentDB and ElastiCache from Secrets, HPA, PDB, zone spread, IRSA, the ALB', () => {
    const objects = render('eks');
    const orders = env(objects, 'orders');
    assert.deepEqual(orders.KAFKA_SASL_PASSWORD?.valueFrom?.secretKeyRef, {
      name: 'emporium-msk',
      key: 'password',
    });
    assert.deepEqual(orders.KAFKA_BROKERS?.valueFrom?.secretKeyRef, {
      name: 'emporium-msk',
      key: 'brokers',
    });
    assert.equal(orders.KAFKA_SSL?.value, 'true');
    assert.equal(env(objects, 'gateway').JWT_TOKEN_USE?.value, 'access');
    assert.equal(env(objects, 'gateway').JWT_JWKS_ALLOW_HTTP, undefined);
    assert.equal(orders.MONGO_RETRY_WRITES?.value, 'false');
    assert.equal(orders.MONGO_TLS_CA_FILE?.value, '/etc/emporium/mongodb-ca/global-bundle.pem');
    assert.deepEqual(env(objects, 'cart').REDIS_URL?.valueFrom?.secretKeyRef, {
      name: 'emporium-elasticache',
      key: 'url',
    });
    for (const { name } of SERVICES) {
      find(objects, 'HorizontalPodAutoscaler', name);
      find(objects, 'PodDisruptionBudget', name);
      assert.ok(pod(objects, name).topologySpreadConstraints?.every((c) => c.labelSelector));
      const account = find(objects, 'ServiceAccount', name).metadata as {
        annotations?: Record<string, string>;
      };
      assert.ok(account.annotations?.['eks.amazonaws.com/role-arn']);
    }
    const loadgen = find(objects, 'Deployment', 'loadgen').spec as { replicas?: number };
    assert.equal(loadgen.replicas, 0);
    assert.ok(
      !objects.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'loadgen'),
    );
    const ingress = find(objects, 'Ingress', 'gateway').spec as {
      ingressClassName: string;
      rules: { http: { paths: { path: string; pathType: string }[] } }[];
    };
    assert.equal(ingress.ingressClassName, 'alb');
    // Only the API and the storefront are public: probes, metrics and the OpenAPI document
    // stay in the cluster.
    assert.deepEqual(
      ingress.rules.flatMap((rule) => rule.http.paths.map((p) => `${p.pathType} ${p.path}`)),
      [
        'Prefix /api',
        'Exact /',
        'Exact /config.json',
        'Exact /otlp/v1/traces',
        'Exact /cart',
        'Exact /notifications',
        'Exact /signin',
        'Exact /auth/callback',
        'Prefix /assets/',
        'Prefix /products/',
        'Prefix /orders',
      ],
    );
    // The gateway serves the storefront from its image, which signs in with Cognito (PKCE).
    const gateway = env(objects, 'gateway');
    assert.equal(gateway.WEB_ROOT?.value, '/app/web');
    assert.match(gateway.WEB_OIDC_AUTHORITY?.value ?? '', /^https:\/\/cognito-idp\./);
    assert.ok(gateway.WEB_OIDC_CLIENT_ID?.value);
    assert.match(gateway.WEB_CONNECT_SRC?.value ?? '', /amazoncognito\.com$/);
    assert.equal(env(render('minimal'), 'gateway').WEB_OIDC_AUTHORITY, undefined);
    assert.match(
      pod(objects, 'orders').containers[0]?.image ?? '',
      /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/emporium\/orders:/,
    );
  });

  it('least privilege: an API token and a Lease Role only for the services that elect a leader, each for its own Lease; default deny plus the topology', () => {
    const objects = render('minimal');
    // Inventory's sweeper and each outbox relay run on the holder of their Lease.
    const leases: Record<string, string> = {
      catalog: 'catalog-outbox-relay',
      inventory: 'inventory-sweeper',
      orders: 'orders-outbox-relay',
      payments: 'payments-outbox-relay',
      shipping: 'shipping-outbox-relay',
    };
    for (const { name } of SERVICES)
      assert.equal(pod(objects, name).automountServiceAccountToken, name in leases, name);
    const roles = objects.filter((o) => o.kind === 'Role');
    assert.deepEqual(
      roles.map((r) => r.metadata.name).sort(),
      Object.keys(leases).map((name) => `${name}-leader-election`),
    );
    for (const role of roles) {
      const service = role.metadata.name.replace(/-leader-election$/, '');
      assert.deepEqual(role.rules, [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [leases[service]],
          verbs: ['get', 'update'],
        },
      ]);
    }
    find(objects, 'NetworkPolicy', 'emporium-default-deny');
    const catalog = find(objects, 'NetworkPolicy', 'catalog').spec as {
      ingress: { from: { podSelector?: { matchLabels: Record<string, string> } }[] }[];
    };
    const callers = (catalog.ingress[0]?.from ?? []).map(
      (f) => f.podSelector?.matchLabels['app.kubernetes.io/name'],
    );
    const expected = SERVICES.filter((s) =>
      (s.upstreams as readonly string[]).includes('catalog'),
    ).map((s) => s.name);
    assert.deepEqual([...callers].sort(), [...expected].sort());
  });

  it('monitoring: monitors and rules with the Prometheus Operator, scrape annotations without it', async () => {
    const withOperator = render('minimal');
    assert.equal(
      withOperator.filter((o) => o.kind === 'ServiceMonitor').length,
      SERVICES.length + 1,
    );
    find(withOperator, 'PodMonitor', 'emporium-envoy');
    find(withOperator, 'PrometheusRule', 'emporium');
    const bare = await renderChart(['ci/minimal-values.yaml'], {}, { monitoring: false });
    assert.ok(!bare.some((o) => o.apiVersion.startsWith('monitoring.coreos.com')));
    const template = find(bare, 'Deployment', 'orders').spec as {
      template: { metadata: { annotations: Record<string, string> } };
    };
    assert.equal(template.template.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(
      template.template.metadata.annotations['prometheus.io/port'],
      String(CHART_PORTS.app),
    );
  });

  it('dashboards: a ConfigMap labelled for Grafana per files/dashboards/*.json', async () => {
    const dir = await tempDir('chart-dashboards');
    try {
      await cp(CHART_DIR, dir, { recursive: true });
      await mkdir(join(dir, 'files', 'dashboards'), { recursive: true });
      const dashboard = JSON.stringify({ title: 'Emporium overview', panels: [] });
      await writeFile(join(dir, 'files', 'dashboards', 'overview.json'), dashboard);
      const objects = await renderChart(['ci/minimal-values.yaml'], {}, { chartDir: dir });
      const map = find(objects, 'ConfigMap', 'emporium-dashboard-overview');
      assert.equal((map.metadata.labels as Record<string, string>).grafana_dashboard, '1');
      assert.deepEqual(
        JSON.parse((map.data as Record<string, string>)['overview.json'] ?? ''),
        JSON.parse(dashboard),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
