import { fileURLToPath } from 'node:url';
import { freePort, httpOk, startProcess, tempDir } from '@emporium/harness';
import { expectOk, firstProductId } from '../catalog-client.js';
import { alternate, closedLoop, ratioMeasurement } from '../pairs.js';
import type { Scenario } from '../scenario.js';

const BARE_SERVER = fileURLToPath(new URL('../servers/bare-catalog.ts', import.meta.url));
/** The bench workspace: where tsx and ioredis resolve from. */
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** catalog's cached read (telemetry off) vs a bare node:http server doing the same Redis GET. */
export const chassisCost: Scenario = {
  name: 'chassis-cost',
  pair: 'catalog cached read (telemetry off) vs a bare node:http server doing the same ioredis GET',
  needs: () => ['catalogOff'],
  async run(context) {
    const infra = await context.fixtures.get('infra');
    const catalog = await context.fixtures.get('catalogOff');
    const path = `/products/${await firstProductId(catalog.url)}`;
    // catalog's first read fills the key the bare server reads.
    await expectOk(catalog.url + path);
    const port = await freePort();
    const bareUrl = `http://127.0.0.1:${String(port)}`;
    const bare = await startProcess({
      name: 'bare-catalog',
      command: process.execPath,
      // Through tsx like the services, so both sides carry the same loader.
      args: ['--import', 'tsx', BARE_SERVER],
      cwd: BENCH_DIR,
      workDir: await tempDir('bench-bare'),
      env: { PATH: process.env.PATH, PORT: String(port), REDIS_URL: infra.redisUrl },
      ready: () => httpOk(`${bareUrl}/readyz`),
    });
    try {
      await expectOk(bareUrl + path);
      const rounds = await alternate(
        context.profile.rounds,
        () => closedLoop(context, catalog.url + path),
        () => closedLoop(context, bareUrl + path),
      );
      return {
        measurements: [
          ratioMeasurement(
            'throughput ratio',
            { a: 'catalog (telemetry off)', b: 'bare node:http + ioredis' },
            rounds.a,
            rounds.b,
            'req/s',
            { op: '>=', value: 0.5 },
          ),
        ],
        notes: [
          'The bare server (bench/src/servers/bare-catalog.ts) answers the cached JSON as it is; catalog validates it against the Product schema and re-serialises it.',
        ],
      };
    } finally {
      await bare.stop();
    }
  },
};
