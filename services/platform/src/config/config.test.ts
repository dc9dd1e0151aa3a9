import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@emporium/harness';
import { z } from 'zod';
import { baseConfigSchema, ConfigError, envVar, EXIT_CONFIG, loadConfig } from './config.js';

const schema = baseConfigSchema.extend({
  KAFKA_BROKERS: envVar.list(),
  UPSTREAM_CATALOG_URL: envVar.url(),
  TELEMETRY_ENABLED: envVar.bool().default(true),
  SAMPLE_RATIO: envVar.number(0, 1).default(1),
});

describe('config', () => {
  it('parses, applies defaults and freezes', () => {
    const config = loadConfig(schema, {
      PORT: '9000',
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
      UPSTREAM_CATALOG_URL: 'http://127.0.0.1:15001',
      TELEMETRY_ENABLED: 'no',
    });
    assert.equal(config.PORT, 9000);
    assert.deepEqual(config.KAFKA_BROKERS, ['127.0.0.1:9092', '127.0.0.1:9093']);
    assert.equal(config.TELEMETRY_ENABLED, false);
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.SHUTDOWN_TIMEOUT_MS, 20_000);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.KAFKA_BROKERS));
    assert.throws(() => {
      (config as { PORT: number }).PORT = 1;
    }, TypeError);
  });

  it('lists every offending variable at once, each with why', () => {
    assert.throws(
      () =>
        loadConfig(schema, {
          PORT: 'eighty',
          LOG_LEVEL: 'loud',
          KAFKA_BROKERS: ' , ',
          UPSTREAM_CATALOG_URL: 'ftp://catalog',
          TELEMETRY_ENABLED: 'maybe',
          SAMPLE_RATIO: '2',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const byVariable = new Map(err.issues.map((i) => [i.variable, i.message]));
        assert.deepEqual([...byVariable.keys()].sort(), [
          'KAFKA_BROKERS',
          'LOG_LEVEL',
          'PORT',
          'SAMPLE_RATIO',
          'TELEMETRY_ENABLED',
          'UPSTREAM_CATALOG_URL',
        ]);
        assert.match(byVariable.get('PORT') ?? '', /port/);
        assert.match(byVariable.get('TELEMETRY_ENABLED') ?? '', /true or false/);
        assert.match(byVariable.get('SAMPLE_RATIO') ?? '', /at most 1/);
        assert.match(err.message, /^invalid configuration \(6 problems\):\n {2}/);
        return true;
      },
    );
  });

  it('names a missing required variable', () => {
    assert.throws(
      () => loadConfig(schema, { UPSTREAM_CATALOG_URL: 'http://x:1' }),
      (err: unknown) => err instanceof ConfigError && err.issues[0]?.variable === 'KAFKA_BROKERS',
    );
  });

  it('a service started with a bad environment exits with one message naming each variable', async () => {
    const dir = await tempDir('config-exit');
    const script = join(dir, 'main.mts');
    const configModule = new URL('./config.ts', import.meta.url).pathname;
    await writeFile(
      script,
      `import { baseConfigSchema, envVar, loadConfigOrExit } from ${JSON.stringify(configModule)};
const config = loadConfigOrExit('demo', baseConfigSchema.extend({ KAFKA_BROKERS: envVar.list() }), process.env);
console.log('started', config.PORT);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { PATH: process.env.PATH, PORT: '99999', LOG_LEVEL: 'chatty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, EXIT_CONFIG);
    assert.equal(stdout, '');
    assert.match(stderr, /^demo: invalid configuration \(3 problems\):$/m);
    assert.match(stderr, /^ {2}PORT: expected a port 0–65535$/m);
    assert.match(stderr, /^ {2}LOG_LEVEL: expected one of fatal, error/m);
    assert.match(stderr, /^ {2}KAFKA_BROKERS: /m);
    assert.doesNotMatch(stderr, /^\s+at /m);
  });

  it('accepts zod schemas of any shape', () => {
    const config = loadConfig(z.object({ A: z.string().default('x') }), {});
    assert.equal(config.A, 'x');
  });
});
