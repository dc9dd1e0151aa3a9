import assert from 'node:assert/strict';
import { runNodeScript } from '@emporium/harness';
import { ConfigError, loadConfig } from '@emporium/platform';
import { configSchema } from './config.js';

const GATEWAY = 'http://gateway.test:8080';

/** The variables a bad environment was refused for. */
function badVariables(env: Record<string, string>): string[] {
  try {
    loadConfig(configSchema, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.issues.map((issue) => issue.variable).sort();
  }
  assert.fail('the environment was accepted');
}

describe('loadgen config', () => {
  it('has defaults for everything but the gateway, and derives the token URL from it', () => {
    const config = loadConfig(configSchema, { UPSTREAM_GATEWAY_URL: `${GATEWAY}/` });
    assert.equal(config.LOADGEN_TOKEN_URL, `${GATEWAY}/dev/token`);
    assert.equal(config.LOADGEN_RPS, 5);
    assert.equal(config.LOADGEN_CONCURRENCY, 20);
    assert.equal(config.LOADGEN_DURATION, undefined, 'no duration: runs until stopped');
    assert.equal(config.LOADGEN_USERS.length, 20);
    assert.equal(config.LOADGEN_USERS[0], 'shopper-1');
    assert.equal(config.LOADGEN_USERS[19], 'shopper-20');
    assert.equal(config.LOADGEN_CHECKOUT_RATIO, 0.3);
    assert.equal(config.LOADGEN_REQUEST_TIMEOUT_MS, 5000);
  });

  it('reads rates, durations, user counts and user lists', () => {
    const config = loadConfig(configSchema, {
      UPSTREAM_GATEWAY_URL: GATEWAY,
      LOADGEN_TOKEN_URL: 'https://issuer.test/token',
      LOADGEN_RPS: '0.5',
      LOADGEN_DURATION: '1h30m',
      LOADGEN_USERS: 'alice, bob,alice',
      LOADGEN_CHECKOUT_RATIO: '1',
    });
    assert.equal(config.LOADGEN_TOKEN_URL, 'https://issuer.test/token');
    assert.equal(config.LOADGEN_RPS, 0.5);
    assert.equal(config.LOADGEN_DURATION, 5_400_000);
    assert.deepEqual(config.LOADGEN_USERS, ['alice', 'bob']);
    assert.equal(config.LOADGEN_CHECKOUT_RATIO, 1);
    const three = loadConfig(configSchema, { UPSTREAM_GATEWAY_URL: GATEWAY, LOADGEN_USERS: '3' });
    assert.deepEqual(three.LOADGEN_USERS, ['shopper-1', 'shopper-2', 'shopper-3']);
  });

  it('lists every bad variable at once', () => {
    assert.deepEqual(
      badVariables({
        UPSTREAM_GATEWAY_URL: 'gateway:8080',
        LOADGEN_RPS: '0',
        LOADGEN_DURATION: '10 minutes',
        LOADGEN_CONCURRENCY: '0',
        LOADGEN_USERS: 'al ice',
        LOADGEN_CHECKOUT_RATIO: '1.5',
        LOADGEN_REQUEST_TIMEOUT_MS: 'soon',
      }),
      [
        'LOADGEN_CHECKOUT_RATIO',
        'LOADGEN_CONCURRENCY',
        'LOADGEN_DURATION',
        'LOADGEN_REQUEST_TIMEOUT_MS',
        'LOADGEN_RPS',
        'LOADGEN_USERS',
        'UPSTREAM_GATEWAY_URL',
      ],
    );
    for (const rps of ['-1', 'fast', '']) {
      assert.deepEqual(badVariables({ UPSTREAM_GATEWAY_URL: GATEWAY, LOADGEN_RPS: rps }), [
        'LOADGEN_RPS',
      ]);
    }
    for (const duration of ['60', '0s', '1d', '']) {
      assert.deepEqual(
        badVariables({ UPSTREAM_GATEWAY_URL: GATEWAY, LOADGEN_DURATION: duration }),
        ['LOADGEN_DURATION'],
      );
    }
    assert.deepEqual(badVariables({ UPSTREAM_GATEWAY_URL: GATEWAY, LOADGEN_DURATION: '600h' }), [
      'LOADGEN_DURATION',
    ]);
    assert.deepEqual(badVariables({}), ['UPSTREAM_GATEWAY_URL']);
  });

  it('a start with a bad environment exits 78 naming each variable', async () => {
    const main = new URL('./main.ts', import.meta.url).pathname;
    const { code, stdout, stderr } = await runNodeScript(main, {
      UPSTREAM_GATEWAY_URL: GATEWAY,
      LOADGEN_RPS: 'lots',
      LOADGEN_DURATION: '1 minute',
    });
    assert.equal(code, 78);
    assert.match(stderr, /^loadgen: invalid configuration \(2 problems\)/);
    assert.match(stderr, /^ {2}LOADGEN_RPS: expected a number$/m);
    assert.match(stderr, /^ {2}LOADGEN_DURATION: expected a duration like .*60s/m);
    assert.equal(stdout, '', 'no run, no summary');
  });
});
