import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  eventually,
  freePort,
  startEnvoy,
  startJaeger,
  validateEnvoyBootstrap,
  type EnvoyServer,
  type JaegerServer,
} from '@emporium/harness';
import { SERVICES } from '../stack/topology.js';
import {
  ADMIN_CLUSTER,
  APP_CLUSTER,
  COLLECTOR_CLUSTER,
  RETRY_ON,
  STATS_PATHS,
  egressPorts,
  envoyBootstrap,
  type EnvoyBootstrap,
  type EnvoyHttpConnectionManager,
  type EnvoyListener,
  type EnvoySettings,
} from './index.js';

/** Kubernetes-like settings: upstreams by Service DNS name, as the chart will render them. */
function k8sSettings(service: string, withTracing: boolean): EnvoySettings {
  const spec = SERVICES.find((s) => s.name === service);
  return {
    ingress: { address: '0.0.0.0', port: 15006 },
    app: { address: '127.0.0.1', port: 8080 },
    egress: { address: '127.0.0.1', port: 15101 },
    upstreams: Object.fromEntries(
      (spec?.upstreams ?? []).map((u) => [
        u,
        { address: `${u}.emporium.svc.cluster.local`, port: 8080 },
      ]),
    ),
    adminPort: 15000,
    ...(withTracing
      ? { tracing: { collector: { address: 'otel-collector.observability', port: 4317 } } }
      : {}),
  };
}

function manager(listener: EnvoyListener): EnvoyHttpConnectionManager {
  const filter = listener.filter_chains[0]?.filters[0];
  assert.ok(filter, `${listener.name} has no HTTP connection manager`);
  return filter.typed_config;
}

/** The harness types a bootstrap as a plain record: a copy of ours is one. */
function plain(bootstrap: EnvoyBootstrap): Record<string, unknown> {
  return { ...bootstrap };
}

describe('envoyBootstrap', () => {
  for (const { name, upstreams } of SERVICES) {
    for (const withTracing of [true, false]) {
      it(`${name} (${withTracing ? 'tracing' : 'no tracing'}) passes envoy --mode validate`, async () => {
        await validateEnvoyBootstrap(
          plain(envoyBootstrap(name, SERVICES, k8sSettings(name, withTracing))),
        );
      });
    }

    it(`${name}: an egress listener and cluster per upstream, retries only when idempotent`, () => {
      const settings = k8sSettings(name, true);
      const bootstrap = envoyBootstrap(name, SERVICES, settings);
      const { listeners, clusters } = bootstrap.static_resources;
      assert.deepEqual(
        listeners.map((l) => l.name),
        ['ingress', ...upstreams.map((u) => `egress_${u}`)],
      );
      assert.deepEqual(
        clusters.map((c) => c.name),
        [APP_CLUSTER, ...upstreams, COLLECTOR_CLUSTER],
      );
      assert.deepEqual(bootstrap.admin.address.socket_address, {
        address: '127.0.0.1',
        port_value: 15000,
      });
      const ports = egressPorts(name, SERVICES, settings);
      upstreams.forEach((upstream, i) => {
        assert.equal(ports[upstream], 15101 + i);
        const listener = listeners.find((l) => l.name === `egress_${upstream}`);
        assert.ok(listener);
        assert.equal(listener.address.socket_address.port_value, 15101 + i);
        const routes = manager(listener).route_config.virtual_hosts[0]?.routes ?? [];
        assert.equal(routes.length, 3);
        const [idempotent, keyed, other] = routes;
        assert.deepEqual(idempotent?.match.headers, [
          {
            name: ':method',
            string_match: { safe_regex: { regex: '^(GET|HEAD|PUT|DELETE|OPTIONS)$' } },
          },
        ]);
        assert.deepEqual(idempotent.route.retry_policy, {
          retry_on: RETRY_ON,
          num_retries: 2,
          per_try_timeout: '0.5s',
        });
        assert.equal(idempotent.route.timeout, '2s');
        assert.deepEqual(keyed?.match.headers, [{ name: 'idempotency-key', present_match: true }]);
        assert.deepEqual(keyed.route.retry_policy, idempotent.route.retry_policy);
        assert.ok(other);
        assert.equal(other.match.headers, undefined);
        assert.equal(other.route.retry_policy, undefined);
        assert.equal(other.route.cluster, upstream);
        const cluster = clusters.find((c) => c.name === upstream);
        assert.ok(cluster);
        assert.equal(cluster.type, 'STRICT_DNS');
        assert.equal(cluster.outlier_detection?.consecutive_5xx, 5);
        assert.ok(cluster.outlier_detection.base_ejection_time);
        assert.ok(cluster.outlier_detection.max_ejection_percent > 0);
        assert.deepEqual(cluster.circuit_breakers?.thresholds[0]?.retry_budget, {
          budget_percent: { value: 20 },
          min_retry_concurrency: 3,
        });
      });
    });

    it(`${name}: tracing when a collector is given, none otherwise`, () => {
      const traced = envoyBootstrap(name, SERVICES, k8sSettings(name, true));
      for (const listener of traced.static_resources.listeners) {
        const tracing = manager(listener).tracing;
        assert.equal(tracing?.provider.name, 'envoy.tracers.opentelemetry');
        assert.equal(tracing.provider.typed_config.service_name, `${name}-envoy`);
      }
      const untraced = envoyBootstrap(name, SERVICES, k8sSettings(name, false));
      for (const listener of untraced.static_resources.listeners) {
        assert.equal(manager(listener).tracing, undefined);
      }
      assert.ok(!untraced.static_resources.clusters.some((c) => c.name === COLLECTOR_CLUSTER));
    });
  }

  it('is pure: the same inputs give the same bootstrap', () => {
    const settings = k8sSettings('orders', true);
    assert.deepEqual(
      envoyBootstrap('orders', SERVICES, settings),
      envoyBootstrap('orders', SERVICES, settings),
    );
  });

  it('a stats listener exposes only /stats/prometheus and /ready of the admin, and validates', async () => {
    const settings = { ...k8sSettings('orders', true), stats: { address: '0.0.0.0', port: 15090 } };
    const bootstrap = envoyBootstrap('orders', SERVICES, settings);
    const stats = bootstrap.static_resources.listeners.find((l) => l.name === 'stats');
    assert.ok(stats, 'no stats listener');
    assert.deepEqual(stats.address.socket_address, { address: '0.0.0.0', port_value: 15090 });
    const hcm = manager(stats);
    assert.equal(hcm.tracing, undefined, 'scrapes are not traced');
    assert.equal(hcm.access_log, undefined, 'scrapes are not logged');
    const routes = hcm.route_config.virtual_hosts[0]?.routes ?? [];
    assert.deepEqual(
      routes.map((r) => [r.match.path, r.match.prefix, r.route.cluster]),
      STATS_PATHS.map((path) => [path, undefined, ADMIN_CLUSTER]),
    );
    const admin = bootstrap.static_resources.clusters.find((c) => c.name === ADMIN_CLUSTER);
    assert.deepEqual(
      admin?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address,
      { address: '127.0.0.1', port_value: 15000 },
    );
    assert.equal(bootstrap.admin.address.socket_address.address, '127.0.0.1');
    assert.equal(
      envoyBootstrap(
        'orders',
        SERVICES,
        k8sSettings('orders', true),
      ).static_resources.listeners.some((l) => l.name === 'stats'),
      false,
      'no stats listener unless asked',
    );
    await validateEnvoyBootstrap(plain(bootstrap));
  });

  it('refuses a service outside the topology or an upstream without an address', () => {
    assert.throws(
      () => envoyBootstrap('loadgen', SERVICES, k8sSettings('orders', false)),
      /loadgen is not in the topology/,
    );
    assert.throws(
      () => envoyBootstrap('cart', SERVICES, { ...k8sSettings('cart', false), upstreams: {} }),
      /no address for cart's upstream catalog/,
    );
  });
});

/** A test HTTP server on 127.0.0.1 with a free port. */
async function listen(handler: (req: IncomingMessage, body: string) => [number, string]): Promise<{
  server: Server;
  port: number;
}> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const [status, text] = handler(req, body);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

interface JaegerTrace {
  data?: {
    spans: {
      spanID: string;
      processID: string;
      references?: { refType: string; spanID: string }[];
    }[];
    processes: Record<string, { serviceName: string }>;
  }[];
}

describe('the Envoy sidecar, for real (cart calling catalog)', function () {
  this.timeout(180_000);
  /** Requests the fake catalog saw, by method. */
  const seen: Record<string, number> = {};
  /** How many of the next requests the fake catalog answers 503. */
  let failNext = 0;
  let upstream: { server: Server; port: number };
  let app: { server: Server; port: number };
  let egressPort = 0;
  const started: { stop: () => Promise<void> }[] = [];

  async function sidecar(
    tracing?: EnvoySettings['tracing'],
  ): Promise<{ envoy: EnvoyServer; ingress: string; egress: string }> {
    const ingressPort = await freePort();
    egressPort = await freePort();
    const settings: EnvoySettings = {
      ingress: { address: '127.0.0.1', port: ingressPort },
      app: { address: '127.0.0.1', port: app.port },
      egress: { address: '127.0.0.1', port: egressPort },
      upstreams: { catalog: { address: '127.0.0.1', port: upstream.port } },
      ...(tracing ? { tracing } : {}),
    };
    const envoy = await startEnvoy({
      bootstrap: plain(envoyBootstrap('cart', SERVICES, settings)),
      name: 'envoy-cart',
    });
    started.push(envoy);
    return {
      envoy,
      ingress: `http://127.0.0.1:${String(ingressPort)}`,
      egress: `http://127.0.0.1:${String(egressPort)}`,
    };
  }

  before(async () => {
    upstream = await listen((req) => {
      const method = req.method ?? '?';
      seen[method] = (seen[method] ?? 0) + 1;
      if (failNext > 0) {
        failNext -= 1;
        return [503, 'catalog unavailable'];
      }
      return [200, `catalog ${method} ${req.url ?? ''}`];
    });
    // The app calls catalog through its egress listener, passing the trace context on as the
    // platform's instrumented client does.
    app = await listen((req) => {
      if (req.url === '/call') {
        const traceparent = req.headers.traceparent;
        // Answered before the call ends: the test reads the outcome from Jaeger, not here.
        fetch(`http://127.0.0.1:${String(egressPort)}/products/1`, {
          headers: typeof traceparent === 'string' ? { traceparent } : {},
        }).catch(() => undefined);
        return [202, 'calling catalog'];
      }
      // Echoes what the ingress appended to X-Forwarded-For: the app's view of its client.
      return [200, `app ${req.url ?? ''} from ${String(req.headers['x-forwarded-for'])}`];
    });
  });

  after(async () => {
    for (const s of started.reverse()) await s.stop();
    await close(app.server);
    await close(upstream.server);
  });

  it('routes ingress to the app, retries GET and keyed POST but not a bare POST, and counts it in /stats/prometheus', async () => {
    const { envoy, ingress, egress } = await sidecar();

    const viaIngress = await fetch(`${ingress}/hello`, {
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    // The ingress appends its peer (whatever address this machine's loopback shows), so the
    // app trusts exactly one hop.
    assert.match(await viaIngress.text(), /^app \/hello from 203\.0\.113\.7,[\d.]+$/);
    assert.ok(viaIngress.headers.has('x-envoy-upstream-service-time'), 'not through Envoy');

    failNext = 2;
    const get = await fetch(`${egress}/products/1`);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'catalog GET /products/1');
    assert.equal(seen.GET, 3, 'two 503s, then the retry that succeeded');

    failNext = 2;
    const post = await fetch(`${egress}/carts`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 503);
    assert.equal(seen.POST, 1, 'a POST is not retried');
    failNext = 1;
    const keyed = await fetch(`${egress}/reservations`, {
      method: 'POST',
      headers: { 'idempotency-key': 'order-1' },
      body: '{}',
    });
    assert.equal(keyed.status, 200);
    assert.equal(seen.POST, 3, 'a POST with an Idempotency-Key is retried');
    failNext = 0;

    await eventually(
      'Envoy counts the 6 upstream requests',
      async () => {
        const stats = await (await fetch(`${envoy.adminUrl}/stats/prometheus`)).text();
        return /envoy_cluster_upstream_rq_total\{envoy_cluster_name="catalog"\} 6\b/.test(stats)
          ? true
          : undefined;
      },
      10_000,
    );
    await envoy.stop();
    started.pop();
  });

  it('serves /stats/prometheus and /ready on the stats listener, and nothing else of the admin', async () => {
    const adminPort = await freePort();
    const statsPort = await freePort();
    const envoy = await startEnvoy({
      bootstrap: plain(
        envoyBootstrap('catalog', SERVICES, {
          ingress: { address: '127.0.0.1', port: await freePort() },
          app: { address: '127.0.0.1', port: app.port },
          egress: { address: '127.0.0.1', port: await freePort() },
          upstreams: {},
          adminPort,
          stats: { address: '127.0.0.1', port: statsPort },
        }),
      ),
      name: 'envoy-stats',
      adminPort,
    });
    started.push(envoy);
    const base = `http://127.0.0.1:${String(statsPort)}`;
    const metrics = await fetch(`${base}/stats/prometheus`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /envoy_server_live/);
    assert.equal((await (await fetch(`${base}/ready`)).text()).trim(), 'LIVE');
    for (const path of ['/config_dump', '/quitquitquit', '/stats']) {
      assert.equal((await fetch(`${base}${path}`, { method: 'POST' })).status, 404, path);
    }
    await envoy.stop();
    started.pop();
  });

  it("answers for an app that is down with a problem document and Retry-After; the app's own answers pass untouched", async () => {
    const ingressPort = await freePort();
    // An app that answers its own 503 in text.
    const own = await listen(() => [503, 'catalog unavailable']);
    const envoy = await startEnvoy({
      bootstrap: plain(
        envoyBootstrap('catalog', SERVICES, {
          ingress: { address: '127.0.0.1', port: ingressPort },
          app: { address: '127.0.0.1', port: own.port },
          egress: { address: '127.0.0.1', port: await freePort() },
          upstreams: {},
        }),
      ),
      name: 'envoy-local-reply',
    });
    started.push(envoy);
    const ingress = `http://127.0.0.1:${String(ingressPort)}`;

    const fromApp = await fetch(`${ingress}/products/1`);
    assert.equal(fromApp.status, 503);
    assert.equal(await fromApp.text(), 'catalog unavailable', "the app's own body");
    assert.equal(fromApp.headers.get('retry-after'), null);

    // The app gone (killed, restarting): Envoy's own reply, as the platform would have answered.
    await close(own.server);
    const down = await fetch(`${ingress}/products/1`);
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('content-type'), 'application/problem+json');
    assert.equal(down.headers.get('retry-after'), '1');
    const problem = (await down.json()) as Record<string, unknown>;
    assert.equal(problem.status, 503);
    assert.equal(problem.code, 'UNAVAILABLE');
    assert.equal(problem.type, 'urn:emporium:problem:unavailable');
    assert.match(String(problem.detail), /upstream connect error|no healthy upstream/);
    await envoy.stop();
    started.pop();
  });

  it('retries an idempotent or keyed call the app reset without an answer, never a bare POST', async () => {
    const ingressPort = await freePort();
    // An app whose every other connection is reset before it answers, as a port handed over
    // in a rolling restart resets what was queued at the old process's socket.
    let seen = 0;
    const calls: string[] = [];
    const server = createServer((req, res) => {
      seen += 1;
      calls.push(`${req.method ?? ''} ${String(seen)}`);
      if (seen % 2 === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const envoy = await startEnvoy({
      bootstrap: plain(
        envoyBootstrap('cart', SERVICES, {
          ingress: { address: '127.0.0.1', port: ingressPort },
          app: { address: '127.0.0.1', port: (server.address() as AddressInfo).port },
          egress: { address: '127.0.0.1', port: await freePort() },
          upstreams: { catalog: { address: '127.0.0.1', port: await freePort() } },
        }),
      ),
      name: 'envoy-ingress-retry',
    });
    started.push(envoy);
    const ingress = `http://127.0.0.1:${String(ingressPort)}`;
    try {
      const put = await fetch(`${ingress}/carts/u/lines/A`, { method: 'PUT', body: '{}' });
      assert.equal(put.status, 200, 'a PUT reset before its answer is sent again');
      const keyed = await fetch(`${ingress}/orders`, {
        method: 'POST',
        headers: { 'idempotency-key': 'k-1' },
      });
      assert.equal(keyed.status, 200, 'so is a POST with an Idempotency-Key');
      const bare = await fetch(`${ingress}/orders`, { method: 'POST' });
      assert.equal(bare.status, 503, 'a bare POST may have taken effect: not sent again');
      assert.deepEqual(calls, ['PUT 1', 'PUT 2', 'POST 3', 'POST 4', 'POST 5']);
    } finally {
      await envoy.stop();
      started.pop();
      await close(server);
    }
  });

  it("sends Envoy spans to Jaeger inside the caller's W3C trace", async () => {
    const jaeger: JaegerServer = await startJaeger();
    started.unshift(jaeger);
    const [host, port] = jaeger.otlpGrpcEndpoint.split(':');
    const { ingress } = await sidecar({
      collector: { address: host ?? '127.0.0.1', port: Number(port) },
    });

    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const response = await fetch(`${ingress}/call`, {
      headers: { traceparent: `00-${traceId}-${parent}-01` },
    });
    assert.equal(response.status, 202);

    // Envoy batches spans (flushing every 5 s by default).
    const spans = await eventually(
      'Envoy spans for the trace in Jaeger',
      async () => {
        const found = (await (
          await fetch(`${jaeger.queryUrl}/api/traces/${traceId}`)
        ).json()) as JaegerTrace;
        const trace = found.data?.[0];
        if (!trace) return undefined;
        const envoySpans = trace.spans.filter(
          (s) => trace.processes[s.processID]?.serviceName === 'cart-envoy',
        );
        // The ingress span and the egress call to catalog, both under the caller's trace id.
        return envoySpans.length >= 2 ? envoySpans : undefined;
      },
      20_000,
    );
    assert.ok(
      spans.some((s) => s.references?.some((r) => r.spanID === parent)),
      "Envoy's ingress span is a child of the caller's span",
    );
    assert.equal(seen.GET, 4, 'the traced call reached catalog through the egress listener');
  });
});
