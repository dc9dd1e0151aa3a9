import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestIssuer } from './test-issuer.js';

describe('startTestIssuer', () => {
  it("gives the gateway its JWT_* variables (dev issuer off) and signs users' tokens they verify", async () => {
    const issuer = await startTestIssuer();
    try {
      const env = issuer.gatewayEnv;
      assert.equal(env.DEV_ISSUER_ENABLED, 'false');
      assert.deepEqual(Object.keys(env).sort(), [
        'DEV_ISSUER_ENABLED',
        'JWT_AUDIENCE',
        'JWT_ISSUER',
        'JWT_JWKS_URL',
      ]);
      const bearer = await issuer.bearer('alice', ['admin']);
      assert.match(bearer, /^Bearer /);
      const keys = createRemoteJWKSet(new URL(env.JWT_JWKS_URL ?? ''));
      const { payload } = await jwtVerify(bearer.slice('Bearer '.length), keys, {
        issuer: env.JWT_ISSUER ?? '',
        audience: env.JWT_AUDIENCE ?? '',
      });
      assert.equal(payload.sub, 'alice');
      assert.deepEqual(payload.roles, ['admin']);
      const plain = await jwtVerify(await issuer.token('bob'), keys);
      assert.equal(plain.payload.sub, 'bob');
      assert.deepEqual(plain.payload.roles, []);
    } finally {
      await issuer.stop();
    }
  });
});
