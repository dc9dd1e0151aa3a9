import assert from 'node:assert/strict';
import { validateEnvoyBootstrap } from '@emporium/harness';
import { fixedStackPorts } from './ports.js';
import { behindSidecarEnv, localSidecarBootstrap, sidecarEgressUrl } from './sidecars.js';
import { SERVICES } from './topology.js';

describe('the local sidecars', () => {
  const ports = fixedStackPorts();

  it("points each app at its own sidecar's egress listener for each upstream", () => {
    assert.equal(sidecarEgressUrl('gateway', 'catalog', ports), 'http://127.0.0.1:18300');
    assert.equal(sidecarEgressUrl('gateway', 'orders', ports), 'http://127.0.0.1:18303');
    assert.equal(sidecarEgressUrl('orders', 'inventory', ports), 'http://127.0.0.1:18342');
    assert.throws(() => sidecarEgressUrl('catalog', 'orders', ports), /does not call orders/);
  });

  it('turns app retries off behind a sidecar, and the gateway trusts its one hop', () => {
    assert.deepEqual(behindSidecarEnv('orders'), { UPSTREAM_RETRIES: '0' });
    assert.deepEqual(behindSidecarEnv('gateway'), { UPSTREAM_RETRIES: '0', TRUST_PROXY: '1' });
    assert.deepEqual(behindSidecarEnv('payments'), {});
  });

  for (const { name } of SERVICES) {
    it(`${name}'s local bootstrap passes envoy --mode validate`, async () => {
      await validateEnvoyBootstrap(localSidecarBootstrap(name, ports, true));
    });
  }
});
