import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  eventually,
  startJaeger,
  startMongo,
  startRedis,
  type JaegerServer,
} from '@emporium/harness';

interface JaegerSpan {
  traceID: string;
  operationName: string;
  processID: string;
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

/** Starts the fixture under the telemetry preload, as a service's container would. */
async function startTraced(
  env: Record<string, string>,
  fixtureName = 'traced-service',
): Promise<{ child: ChildProcess; port: number }> {
  const fixture = new URL(`./fixtures/${fixtureName}.ts`, import.meta.url).pathname;
  const preload = new URL('./register.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', preload, fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  for (let i = 0; i < 300 && !/listening \d+/.test(out); i++) await sleep(50);
  const port = Number(/listening (\d+)/.exec(out)?.[1]);
  assert.ok(port > 0, `fixture did not start: ${out}`);
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function traces(jaeger: JaegerServer, service: string): Promise<JaegerTrace[]> {
  const response = await fetch(`${jaeger.queryUrl}/api/traces?service=${service}&limit=20`);
  if (!response.ok) return [];
  return ((await response.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

describe('telemetry preload', () => {
  let jaeger: JaegerServer;
  before(async () => {
    jaeger = await startJaeger();
  });
  after(async () => {
    await jaeger.stop();
  });

  it('exports HTTP server and client spans in one trace, with the resource attributes', async () => {
    const { child, port } = await startTraced({
      OTEL_SERVICE_NAME: 'traced-demo',
      SERVICE_VERSION: '9.9.9',
      DEPLOYMENT_ENVIRONMENT: 'test',
      POD_NAME: 'traced-demo-abc12',
      POD_NAMESPACE: 'emporium',
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
    });
    assert.equal(await (await fetch(`http://127.0.0.1:${String(port)}/front`)).text(), 'front');
    await stop(child); // flushes
    const [trace] = await eventually('the trace in Jaeger', async () => {
      const found = await traces(jaeger, 'traced-demo');
      return found.find((t) => t.spans.length >= 3) ? found : undefined;
    });
    assert.ok(trace);
    const kinds = trace.spans.map((s) => s.operationName).sort();
    // Outer server span, the client call, and the inner server span — all one trace id.
    assert.equal(kinds.filter((name) => name === 'GET').length, 3, JSON.stringify(kinds));
    assert.equal(new Set(trace.spans.map((s) => s.traceID)).size, 1);
    // The client span's url.full keeps the query's keys, never its values (`?userId=alice`).
    const tag = (span: JaegerSpan, key: string): unknown =>
      span.tags.find((t) => t.key === key)?.value;
    const client = trace.spans.find((s) => tag(s, 'span.kind') === 'client');
    assert.ok(client, 'a client span');
    assert.match(
      String(tag(client, 'url.full')),
      /^http:\/\/127\.0\.0\.1:\d+\/inner\?userId=REDACTED$/,
    );
    assert.doesNotMatch(JSON.stringify(client.tags), /alice/);
    const tags = Object.fromEntries(
      (Object.values(trace.processes)[0]?.tags ?? []).map((t) => [t.key, t.value]),
    );
    assert.equal(tags['service.version'], '9.9.9');
    assert.equal(tags['deployment.environment.name'], 'test');
    assert.equal(tags['k8s.pod.name'], 'traced-demo-abc12');
    assert.equal(tags['k8s.namespace.name'], 'emporium');
  });

  it('exports MongoDB and Redis client spans in the request’s trace (the loader hook wraps only the instrumented modules)', async () => {
    const [mongo, redis] = await Promise.all([startMongo(), startRedis()]);
    try {
      const { child, port } = await startTraced(
        {
          OTEL_SERVICE_NAME: 'traced-stores',
          OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
          MONGO_URL: mongo.url,
          REDIS_URL: redis.url,
        },
        'traced-stores',
      );
      assert.equal(await (await fetch(`http://127.0.0.1:${String(port)}/`)).text(), 'stores');
      await stop(child);
      const [trace] = await eventually('the stores trace in Jaeger', async () => {
        const found = await traces(jaeger, 'traced-stores');
        return found.find((t) => t.spans.length >= 3) ? found : undefined;
      });
      assert.ok(trace);
      const systems = trace.spans.map(
        (s) => s.tags.find((t) => t.key === 'db.system' || t.key === 'db.system.name')?.value,
      );
      assert.ok(
        systems.includes('mongodb'),
        JSON.stringify(trace.spans.map((s) => s.operationName)),
      );
      assert.ok(systems.includes('redis'), JSON.stringify(trace.spans.map((s) => s.operationName)));
      assert.equal(new Set(trace.spans.map((s) => s.traceID)).size, 1);
    } finally {
      await Promise.all([mongo.stop(), redis.stop()]);
    }
  });

  it('exports nothing when telemetry is off or the sampling ratio is 0', async () => {
    for (const [name, env] of [
      ['traced-off', { TELEMETRY_ENABLED: 'false' }],
      ['traced-unsampled', { OTEL_TRACES_SAMPLER_ARG: '0' }],
    ] as const) {
      const { child, port } = await startTraced({
        ...env,
        OTEL_SERVICE_NAME: name,
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
      });
      await (await fetch(`http://127.0.0.1:${String(port)}/front`)).text();
      await stop(child);
    }
    // A control service proves the pipeline delivers within the wait used below.
    const control = await startTraced({
      OTEL_SERVICE_NAME: 'traced-control',
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
    });
    await (await fetch(`http://127.0.0.1:${String(control.port)}/front`)).text();
    await stop(control.child);
    await eventually('the control trace', async () =>
      (await traces(jaeger, 'traced-control')).length > 0 ? true : undefined,
    );
    assert.deepEqual(await traces(jaeger, 'traced-off'), []);
    assert.deepEqual(await traces(jaeger, 'traced-unsampled'), []);
  });

  it('a bad telemetry variable stops the start with a message naming it', async () => {
    const preload = new URL('./register.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', preload, '-e', 'console.log("ran")'],
      {
        env: { ...process.env, OTEL_SERVICE_NAME: '', OTEL_TRACES_SAMPLER_ARG: 'half' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 78);
    assert.equal(stdout, '');
    assert.match(stderr, /OTEL_SERVICE_NAME: expected the service name/);
    assert.match(stderr, /OTEL_TRACES_SAMPLER_ARG: expected a number/);
  });
});
