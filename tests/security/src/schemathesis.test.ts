import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import {
  ensureTool,
  startKafka,
  startMongo,
  startRedis,
  tempDir,
  type KafkaServer,
  type MongoServer,
  type RedisServer,
} from '@emporium/harness';
import { startTestIssuer, type TestIssuer } from '@emporium/platform/testing';
import { startServices, type RunningServices } from '@emporium/scripts/stack';

/**
 * What every answer must meet: never a 5xx, and only what the operation documents (status,
 * content type, headers, body schema). The negative data schemathesis sends (wrong types,
 * missing fields, odd strings) must come back as a documented 4xx.
 */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  // Data that breaks the schema (a wrong type, a missing field) must be refused with a 4xx.
  'negative_data_rejection',
].join(',');

/** Test cases per operation and phase: enough to cross every schema's edges, in minutes. */
const MAX_EXAMPLES = '40';

/** One schemathesis run: a service's document, as one caller. */
interface Run {
  readonly service: string;
  /** `Authorization` of every request. */
  readonly authorization: string;
  /** Extra schemathesis filters (which operations this caller takes). */
  readonly filters?: readonly string[];
}

/** Runs schemathesis; resolves with its exit code and output. */
function schemathesis(
  bin: string,
  cwd: string,
  args: readonly string[],
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      // It keeps a cache of crashes in its working directory: not in the repository.
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, out });
    });
  });
}

describe('schemathesis: every OpenAPI document against its real service', function () {
  this.timeout(1_200_000);
  let kafka: KafkaServer;
  let mongo: MongoServer;
  let redis: RedisServer;
  let issuer: TestIssuer;
  let stack: RunningServices;
  let bin = '';

  before(async function () {
    [kafka, mongo, redis, { bin }] = await Promise.all([
      startKafka(),
      startMongo(),
      startRedis(),
      ensureTool('schemathesis'),
    ]);
    issuer = await startTestIssuer();
    stack = await startServices({
      infra: { kafkaBrokers: kafka.brokers, mongoUrl: mongo.url, redisUrl: redis.url },
      env: {
        gateway: {
          ...issuer.gatewayEnv,
          // Hundreds of requests from one user in seconds: the limits are not under test here.
          RATE_LIMIT_USER_CAPACITY: '1000000',
          RATE_LIMIT_USER_REFILL_PER_SECOND: '1000000',
          RATE_LIMIT_IP_CAPACITY: '1000000',
          RATE_LIMIT_IP_REFILL_PER_SECOND: '1000000',
        },
      },
    });
  });

  after(async function () {
    await stack.stop();
    await issuer.stop();
    await Promise.all([kafka.stop(), mongo.stop(), redis.stop()]);
  });

  it('finds no server error and no answer outside its document, on any service or the gateway', async function () {
    // An admin may call every user and admin route; inventory's reservations take orders' own
    // workload token, and nothing else.
    const admin = await issuer.bearer('schemathesis-admin', ['admin']);
    const orders = `Bearer ${await stack.identity.serviceToken('orders', 'inventory')}`;
    const runs: Run[] = [
      ...['gateway', 'catalog', 'cart', 'orders', 'payments', 'shipping', 'notifications'].map(
        (service) => ({ service, authorization: admin }),
      ),
      { service: 'inventory', authorization: admin, filters: ['--exclude-path', '/reservations'] },
      {
        service: 'inventory',
        authorization: orders,
        filters: ['--include-path', '/reservations', '--include-method', 'POST'],
      },
    ];
    const failures: string[] = [];
    const work = await tempDir('schemathesis');
    for (const run of runs) {
      const url = stack.services[run.service]?.url;
      assert.ok(url, `${run.service} is running`);
      const began = Date.now();
      const { code, out } = await schemathesis(bin, work, [
        'run',
        `${url}/openapi.json`,
        '--url',
        url,
        '--checks',
        CHECKS,
        '--max-examples',
        MAX_EXAMPLES,
        '--phases',
        'examples,coverage,fuzzing',
        '--seed',
        '1',
        '--workers',
        '1',
        '--generation-database',
        'none',
        '--request-timeout',
        '10',
        '--no-color',
        '--header',
        `Authorization: ${run.authorization}`,
        ...(run.filters ?? []),
      ]);
      const seconds = ((Date.now() - began) / 1000).toFixed(0);
      // The whole report with SCHEMATHESIS_OUTPUT=1; its last line otherwise.
      const summary = process.env.SCHEMATHESIS_OUTPUT ? out : out.trim().split('\n').at(-1);
      process.stderr.write(`schemathesis ${run.service} (${seconds} s): ${summary}\n`);
      if (code !== 0) {
        failures.push(`${run.service} (exit ${String(code)}):\n${out.slice(-12_000)}`);
        continue;
      }
      // A run that tested nothing would pass too: every operation must have had its cases.
      const operations = Number(/Tested: (\d+)/.exec(out)?.[1] ?? 0);
      const cases = Number(/(\d+) generated/.exec(out)?.[1] ?? 0);
      if (operations === 0 || cases < operations * 10) {
        failures.push(
          `${run.service}: only ${String(cases)} cases for ${String(operations)} operations`,
        );
      }
    }
    await rm(work, { recursive: true, force: true });
    assert.deepEqual(failures, [], failures.join('\n\n'));
  });
});
