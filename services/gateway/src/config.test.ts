import assert from 'node:assert/strict';
import { configIssues } from '@emporium/platform';
import { configSchema } from './config.js';

/** Everything the gateway needs besides what a case sets. */
const BASE = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  UPSTREAM_CATALOG_URL: 'http://127.0.0.1:1',
  UPSTREAM_CART_URL: 'http://127.0.0.1:2',
  UPSTREAM_INVENTORY_URL: 'http://127.0.0.1:3',
  UPSTREAM_ORDERS_URL: 'http://127.0.0.1:4',
  UPSTREAM_NOTIFICATIONS_URL: 'http://127.0.0.1:5',
  UPSTREAM_SHIPPING_URL: 'http://127.0.0.1:6',
  UPSTREAM_PAYMENTS_URL: 'http://127.0.0.1:7',
  JWT_JWKS_URL: 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json',
  JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/pool',
  JWT_AUDIENCE: 'client-1',
};

/** The variables a start with `env` names as bad, with their messages; {} when it starts. */
const refused = (env: Record<string, string | undefined>): Record<string, string> =>
  configIssues(configSchema, { ...BASE, ...env });

describe('gateway config: the token issuer', () => {
  it('refuses the dev issuer under NODE_ENV=production', () => {
    assert.match(
      refused({ DEV_ISSUER_ENABLED: 'true', NODE_ENV: 'production' }).DEV_ISSUER_ENABLED ?? '',
      /must be false under NODE_ENV=production/,
    );
    assert.deepEqual(refused({ DEV_ISSUER_ENABLED: 'true', NODE_ENV: 'development' }), {});
  });

  it('refuses an http JWKS URL, except on loopback outside production or when allowed outright', () => {
    const intercepted = 'http://issuer.internal/.well-known/jwks.json';
    assert.match(refused({ JWT_JWKS_URL: intercepted }).JWT_JWKS_URL ?? '', /expected an https/);
    assert.deepEqual(refused({ JWT_JWKS_URL: intercepted, JWT_JWKS_ALLOW_HTTP: 'true' }), {});
    const loopback = 'http://127.0.0.1:18099/dev/.well-known/jwks.json';
    assert.deepEqual(refused({ JWT_JWKS_URL: loopback }), {});
    assert.match(
      refused({ JWT_JWKS_URL: loopback, NODE_ENV: 'production' }).JWT_JWKS_URL ?? '',
      /expected an https/,
    );
    assert.deepEqual(refused({ NODE_ENV: 'production' }), {}, 'Cognito over https');
  });

  it('never takes the dev keys without the dev issuer: the JWT settings are then required', () => {
    assert.deepEqual(
      Object.keys(
        refused({ JWT_JWKS_URL: undefined, JWT_ISSUER: undefined, JWT_AUDIENCE: undefined }),
      ).sort(),
      ['JWT_AUDIENCE', 'JWT_ISSUER', 'JWT_JWKS_URL'],
    );
  });
});
